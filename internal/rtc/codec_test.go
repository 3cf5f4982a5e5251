package rtc

import (
	"errors"
	"strings"
	"testing"

	"github.com/footlight/footlight/internal/stage"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// chromeVideo is the video m-line of a browser-like offer: VP8 first, H.264 variants after.
const chromeVideo = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 127 125 108 109\r\n" +
	"a=mid:1\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n" +
	"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
	"a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n" +
	"a=rtpmap:127 H264/90000\r\na=fmtp:127 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n" +
	"a=rtpmap:125 rtx/90000\r\na=fmtp:125 apt=127\r\n" +
	"a=rtpmap:108 H264/90000\r\na=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" +
	"a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n" +
	"a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n"

func offeredVideo(t *testing.T, s string) []webrtc.RTPCodecParameters {
	t.Helper()
	sd := &sdp.SessionDescription{}
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	return offeredCodecs(sd.MediaDescriptions[0])
}

func TestPickCodec(t *testing.T) {
	offered := offeredVideo(t, chromeVideo)
	tests := []struct {
		name    string
		kind    webrtc.RTPCodecType
		offered []webrtc.RTPCodecParameters
		wantPTs []webrtc.PayloadType
	}{
		{"H.264 baseline, packetization-mode 1, before VP8", webrtc.RTPCodecTypeVideo, offered, []webrtc.PayloadType{102, 103}},
		{"VP8 when no usable H.264", webrtc.RTPCodecTypeVideo, []webrtc.RTPCodecParameters{offered[0], offered[1], offered[4]}, []webrtc.PayloadType{96, 97}},
		{"no RTX offered", webrtc.RTPCodecTypeVideo, []webrtc.RTPCodecParameters{offered[6]}, []webrtc.PayloadType{108}},
		{"nothing usable", webrtc.RTPCodecTypeVideo, []webrtc.RTPCodecParameters{offered[4]}, nil},
		{"audio needs Opus", webrtc.RTPCodecTypeAudio, offered, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickCodec(tt.kind, tt.offered)
			if ok != (tt.wantPTs != nil) || len(got) != len(tt.wantPTs) {
				t.Fatalf("pickCodec = %v, %v", got, ok)
			}
			for i, c := range got {
				if c.PayloadType != tt.wantPTs[i] {
					t.Errorf("codec %d has PT %d, want %d", i, c.PayloadType, tt.wantPTs[i])
				}
			}
		})
	}
}

func TestMatchCodec(t *testing.T) {
	offered := offeredVideo(t, chromeVideo)
	tests := []struct {
		name   string
		want   webrtc.RTPCodecParameters
		wantPT webrtc.PayloadType
		ok     bool
	}{
		{"same profile first", testH264, 108, true},
		{"same profile_idc otherwise", h264With("packetization-mode=1;profile-level-id=42c01f"), 102, true},
		{"packetization mode must match", h264With("packetization-mode=0;profile-level-id=42e01f"), 127, true},
		{"high profile has no match", h264With("packetization-mode=1;profile-level-id=640c1f"), 0, false},
		{"VP8 by name", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/vp8", ClockRate: 90000}}, 96, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchCodec(tt.want, offered)
			if ok != tt.ok || got.PayloadType != tt.wantPT {
				t.Errorf("matchCodec = PT %d, %v; want PT %d, %v", got.PayloadType, ok, tt.wantPT, tt.ok)
			}
		})
	}
}

func h264With(fmtp string) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp,
	}}
}

func TestSimulcastRIDs(t *testing.T) {
	tests := []struct {
		name string
		rids string
		want string
	}{
		{"no simulcast", "", ""},
		{"browser names", "a=rid:f send\r\na=rid:q send\r\na=rid:h send\r\n", "q,h,f"},
		{"IVS names", "a=rid:low send\r\na=rid:hi send\r\na=rid:mid send\r\n", "low,mid,hi"},
		{"receive rids ignored", "a=rid:f recv\r\na=rid:q send\r\n", "q"},
		{"unknown names in simulcast order", "a=rid:c send\r\na=rid:a send\r\na=rid:b send\r\na=simulcast:send a;~b;c\r\n", "a,b,c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := &sdp.SessionDescription{}
			if err := sd.UnmarshalString("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n" + tt.rids); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(simulcastRIDs(sd.MediaDescriptions[0]), ","); got != tt.want {
				t.Errorf("simulcastRIDs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOfferCodecError(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	const opusLine = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\n"
	const pcmuLine = "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\na=rtpmap:0 PCMU/8000\r\n"
	const vp9Line = "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:v\r\na=rtpmap:98 VP9/90000\r\n"
	for _, tt := range []struct {
		name string
		sdp  string
		want error // nil: accepted
	}{
		{"H.264 and Opus", chromeVideo + opusLine, nil},
		{"VP9 only", head + vp9Line + opusLine, stage.ErrInvalidVideoCodec},
		{"PCMU only", chromeVideo + pcmuLine, stage.ErrInvalidAudioCodec},
		{"VP9 the client only receives", head + vp9Line + "a=recvonly\r\n" + opusLine, nil},
		{"VP9 rejected (port 0)", head + strings.Replace(vp9Line, "video 9", "video 0", 1) + opusLine, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sd := &sdp.SessionDescription{}
			if err := sd.UnmarshalString(tt.sdp); err != nil {
				t.Fatal(err)
			}
			err := offerCodecError(sd)
			if tt.want == nil && err != nil || tt.want != nil && (!errors.Is(err, tt.want) || !errors.Is(err, errNoCodec)) {
				t.Errorf("offerCodecError = %v, want %v", err, tt.want)
			}
		})
	}
}
