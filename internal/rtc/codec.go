package rtc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/footlight/footlight/internal/stage"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Codec choice. The answer lists one codec per m-line (plus its RTX), so a publisher sends
// exactly what subscribers will be offered: H.264 constrained baseline with packetization-mode
// 1 when the offer has it, else VP8; Opus for audio (DESIGN.md "Codecs").

// offeredCodecs lists the codecs of one m-section in the offer's order and payload types.
func offeredCodecs(md *sdp.MediaDescription) []webrtc.RTPCodecParameters {
	one := &sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}
	var out []webrtc.RTPCodecParameters
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		c, err := one.GetCodecForPayloadType(uint8(pt))
		if err != nil {
			continue
		}
		channels, _ := strconv.ParseUint(c.EncodingParameters, 10, 16)
		out = append(out, webrtc.RTPCodecParameters{
			PayloadType: webrtc.PayloadType(pt),
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     md.MediaName.Media + "/" + c.Name,
				ClockRate:    c.ClockRate,
				Channels:     uint16(channels),
				SDPFmtpLine:  c.Fmtp,
				RTCPFeedback: feedbackOf(c.RTCPFeedback),
			},
		})
	}
	return out
}

// feedbackOf parses "a=rtcp-fb" values such as "nack pli".
func feedbackOf(lines []string) []webrtc.RTCPFeedback {
	out := make([]webrtc.RTCPFeedback, 0, len(lines))
	for _, l := range lines {
		typ, param, _ := strings.Cut(l, " ")
		out = append(out, webrtc.RTCPFeedback{Type: typ, Parameter: param})
	}
	return out
}

// fmtpValue returns one parameter of an fmtp line ("a=1;b=2"), or "".
func fmtpValue(fmtp, key string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

func isMime(c webrtc.RTPCodecParameters, mime string) bool {
	return strings.EqualFold(c.MimeType, mime)
}

// isH264Baseline: profile_idc 66 (0x42, any constraint flags), packetization-mode 1
// (RFC 6184 §8.1).
func isH264Baseline(c webrtc.RTPCodecParameters) bool {
	return isMime(c, webrtc.MimeTypeH264) && fmtpValue(c.SDPFmtpLine, "packetization-mode") == "1" &&
		strings.HasPrefix(strings.ToLower(fmtpValue(c.SDPFmtpLine, "profile-level-id")), "42")
}

// pickCodec chooses what a publisher sends on one m-line: the codec first, then its RTX.
func pickCodec(kind webrtc.RTPCodecType, offered []webrtc.RTPCodecParameters) ([]webrtc.RTPCodecParameters, bool) {
	prefer := []func(webrtc.RTPCodecParameters) bool{
		func(c webrtc.RTPCodecParameters) bool { return isMime(c, webrtc.MimeTypeOpus) },
	}
	if kind == webrtc.RTPCodecTypeVideo {
		prefer = []func(webrtc.RTPCodecParameters) bool{
			isH264Baseline,
			func(c webrtc.RTPCodecParameters) bool { return isMime(c, webrtc.MimeTypeVP8) },
		}
	}
	for _, ok := range prefer {
		for _, c := range offered {
			if ok(c) {
				return withRTX(c, offered), true
			}
		}
	}
	return nil, false
}

// offerCodecError checks, before anything is negotiated, that every m-line the client sends
// on offers a codec pickCodec takes. Its error wraps errNoCodec (a 400) and the stage
// domain's reason, which the PUBLISH_ERROR event records (IVS-BEHAVIOUR §3).
func offerCodecError(offer *sdp.SessionDescription) error {
	for _, md := range offer.MediaDescriptions {
		kind := webrtc.NewRTPCodecType(md.MediaName.Media)
		if kind == 0 || md.MediaName.Port.Value == 0 || !sends(md) {
			continue
		}
		if _, ok := pickCodec(kind, offeredCodecs(md)); !ok {
			return codecError(kind)
		}
	}
	return nil
}

// sends reports whether the offerer sends on an m-line (RFC 8866 §6.7: sendrecv by default).
func sends(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		if a.Key == "recvonly" || a.Key == "inactive" {
			return false
		}
	}
	return true
}

// codecError is the refusal of an m-line of kind that offers no codec Footlight takes.
func codecError(kind webrtc.RTPCodecType) error {
	if kind == webrtc.RTPCodecTypeVideo {
		return fmt.Errorf("%w: %w: the video m-line offers neither H.264 (baseline, packetization-mode 1) nor VP8",
			errNoCodec, stage.ErrInvalidVideoCodec)
	}
	return fmt.Errorf("%w: %w: the audio m-line does not offer Opus", errNoCodec, stage.ErrInvalidAudioCodec)
}

// withRTX returns c followed by the offered RTX codec that repairs it (RFC 4588 "apt"), if any.
func withRTX(c webrtc.RTPCodecParameters, offered []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	apt := strconv.Itoa(int(c.PayloadType))
	for _, r := range offered {
		if isMime(r, webrtc.MimeTypeRTX) && fmtpValue(r.SDPFmtpLine, "apt") == apt {
			return []webrtc.RTPCodecParameters{c, r}
		}
	}
	return []webrtc.RTPCodecParameters{c}
}

// matchCodec finds in have the codec that carries what want carries, so packets pass through
// unchanged. H.264 needs the same packetization mode and profile: the exact profile and
// constraints first, else the same profile_idc.
func matchCodec(want webrtc.RTPCodecParameters, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	if !isMime(want, webrtc.MimeTypeH264) {
		for _, c := range have {
			if isMime(c, want.MimeType) && c.ClockRate == want.ClockRate {
				return c, true
			}
		}
		return webrtc.RTPCodecParameters{}, false
	}
	for _, prefix := range []int{4, 2} {
		for _, c := range have {
			if isMime(c, webrtc.MimeTypeH264) && sameH264(want, c, prefix) {
				return c, true
			}
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// sameH264 compares packetization mode and the first n hex digits of profile-level-id.
func sameH264(a, b webrtc.RTPCodecParameters, n int) bool {
	pa, pb := fmtpValue(a.SDPFmtpLine, "profile-level-id"), fmtpValue(b.SDPFmtpLine, "profile-level-id")
	if len(pa) < n || len(pb) < n {
		return false
	}
	return fmtpValue(a.SDPFmtpLine, "packetization-mode") == fmtpValue(b.SDPFmtpLine, "packetization-mode") &&
		strings.EqualFold(pa[:n], pb[:n])
}

// mediaByMid finds the m-section with this mid.
func mediaByMid(sd *sdp.SessionDescription, mid string) *sdp.MediaDescription {
	for _, md := range sd.MediaDescriptions {
		if v, ok := md.Attribute("mid"); ok && v == mid {
			return md
		}
	}
	return nil
}

// simulcastRIDs lists the simulcast layers (RFC 8853) the offer sends, lowest quality first,
// or nil without simulcast. Layers named as encoders name them (ridRank) are ordered by
// quality; if any name is unknown, the order of the a=simulcast attribute is taken as
// lowest first, as browsers list them.
func simulcastRIDs(md *sdp.MediaDescription) []string {
	var sent []string
	for _, a := range md.Attributes {
		if a.Key != "rid" {
			continue
		}
		id, rest, _ := strings.Cut(a.Value, " ")
		if strings.HasPrefix(rest, "send") {
			sent = append(sent, id)
		}
	}
	if len(sent) == 0 {
		return nil
	}
	known := true
	for _, id := range sent {
		known = known && ridRank(id) > 0
	}
	if known {
		slices.SortStableFunc(sent, func(a, b string) int { return ridRank(a) - ridRank(b) })
		return sent
	}
	order := simulcastOrder(md)
	pos := func(id string) int {
		if i := slices.Index(order, id); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(sent, func(a, b string) int { return pos(a) - pos(b) })
	return sent
}

// simulcastOrder lists the RIDs of the a=simulcast send direction in order (RFC 8853 §5.1:
// "send" then ';'-separated streams, each ','-separated alternatives, '~' marking paused).
func simulcastOrder(md *sdp.MediaDescription) []string {
	v, ok := md.Attribute("simulcast")
	if !ok {
		return nil
	}
	fields := strings.Fields(v)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] != "send" {
			continue
		}
		var out []string
		for _, stream := range strings.Split(fields[i+1], ";") {
			for _, alt := range strings.Split(stream, ",") {
				out = append(out, strings.TrimPrefix(alt, "~"))
			}
		}
		return out
	}
	return nil
}

// ridRank orders the layer names IVS (hi/mid/low) and browsers' samples (f/h/q) use.
func ridRank(rid string) int {
	switch strings.ToLower(rid) {
	case "hi", "high", "f", "full":
		return 3
	case "mid", "m", "h", "half":
		return 2
	case "low", "l", "q", "quarter":
		return 1
	}
	return 0
}

// iceUfrag returns the offer's ICE username fragment (session or first media level).
func iceUfrag(sd *sdp.SessionDescription) string {
	if v, ok := sd.Attribute("ice-ufrag"); ok {
		return v
	}
	for _, md := range sd.MediaDescriptions {
		if v, ok := md.Attribute("ice-ufrag"); ok {
			return v
		}
	}
	return ""
}

// mids lists the offer's m-section ids in order, for trickled candidates.
func mids(sd *sdp.SessionDescription) []string {
	out := make([]string, 0, len(sd.MediaDescriptions))
	for _, md := range sd.MediaDescriptions {
		v, _ := md.Attribute("mid")
		out = append(out, v)
	}
	return out
}
