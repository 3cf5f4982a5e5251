package rtc

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/token"
	"github.com/pion/webrtc/v4"
)

// publishOffer is a real browser-like publish offer (H.264 and Opus, sendrecv).
func publishOffer(t testing.TB) string {
	t.Helper()
	pc := newClientPC(t)
	for _, c := range []webrtc.RTPCodecCapability{
		{MimeType: webrtc.MimeTypeH264, ClockRate: 90000},
		{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
	} {
		tr, err := webrtc.NewTrackLocalStaticSample(c, strings.TrimPrefix(c.MimeType, "video/"), "p")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	return gatheredOffer(t, pc)
}

// offerOf is a publish offer of one video and one audio track from a peer that has only
// those two codecs.
func offerOf(video, audio webrtc.RTPCodecCapability) func(testing.TB) string {
	return func(t testing.TB) string {
		t.Helper()
		me := &webrtc.MediaEngine{}
		pcs := []struct {
			c    webrtc.RTPCodecCapability
			kind webrtc.RTPCodecType
			pt   webrtc.PayloadType
		}{{video, webrtc.RTPCodecTypeVideo, 98}, {audio, webrtc.RTPCodecTypeAudio, 0}}
		for _, c := range pcs {
			if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c.c, PayloadType: c.pt}, c.kind); err != nil {
				t.Fatal(err)
			}
		}
		pc := newClientPCWith(t, me)
		for _, c := range pcs {
			tr, err := webrtc.NewTrackLocalStaticSample(c.c, c.kind.String(), "p")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pc.AddTrack(tr); err != nil {
				t.Fatal(err)
			}
		}
		return gatheredOffer(t, pc)
	}
}

var (
	vp9  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}
	pcmu = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// subscribeOffer is a recvonly offer for audio and video.
func subscribeOffer(t testing.TB) string {
	t.Helper()
	pc := newClientPC(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			t.Fatal(err)
		}
	}
	return gatheredOffer(t, pc)
}

// tamper breaks a token's signature without breaking its encoding.
func tamper(tok string) string {
	i := strings.LastIndex(tok, ".") + 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestRefusals(t *testing.T) {
	const stage = "stageAAAAAAA"
	expired := func(c *token.Claims) {
		c.IssuedAt, c.ExpiresAt = c.IssuedAt.Add(-2*time.Hour), c.IssuedAt.Add(-time.Hour)
	}
	tests := []struct {
		name   string
		setup  func(h *harness)
		path   string
		token  func(h *harness) string
		ctype  string // default application/sdp
		offer  func(t testing.TB) string
		status int
		calls  []string // domain calls that must have happened
		never  []string // domain calls that must not have happened
	}{
		{name: "no token", path: "/whip/" + stage, token: func(*harness) string { return "" }, status: 401},
		{name: "malformed token", path: "/whip/" + stage, token: func(*harness) string { return "not.a.jwt" }, status: 401},
		{name: "expired token", path: "/whip/" + stage, status: 401,
			token: func(h *harness) string { return h.tokenFor(stage, "alice", true, true, expired) }},
		{name: "bad signature", path: "/whip/" + stage, status: 401,
			token: func(h *harness) string { return tamper(h.token("alice", true, true)) }},
		{name: "token for another stage", path: "/whip/" + stage, status: 403,
			token: func(h *harness) string { return h.tokenFor("stageBBBBBBB", "alice", true, true) }},
		{name: "publish without PUBLISH", path: "/whip/" + stage, status: 403,
			token: func(h *harness) string { return h.token("dave", false, true) },
			calls: []string{"publish-error dave INSUFFICIENT_CAPABILITIES", "leave dave"}},
		{name: "revoked", path: "/whip/" + stage, status: 403,
			setup: func(h *harness) { h.stages.revoked["eve"] = true },
			token: func(h *harness) string { return h.token("eve", true, true) },
			calls: []string{"join-refused eve"}},
		{name: "over the publisher limit", path: "/whip/" + stage, status: 403,
			setup: func(h *harness) { h.stages.maxPublishers, h.stages.publishing["zed"] = 1, 1 },
			token: func(h *harness) string { return h.token("dave", true, true) },
			calls: []string{"publish-error dave QUOTA_EXCEEDED", "leave dave"}},
		{name: "unknown stage", path: "/whip/stageZZZZZZZ", status: 404,
			token: func(h *harness) string { return h.tokenFor("stageZZZZZZZ", "alice", true, true) }},
		{name: "publish as another participant", path: "/whip/" + stage + "/publish/bob", status: 403,
			token: func(h *harness) string { return h.token("alice", true, true) }},
		{name: "subscribe to nobody publishing", path: "/whip/" + stage + "/subscribe/ghost", status: 404,
			token: func(h *harness) string { return h.token("frank", false, true) }, offer: subscribeOffer,
			calls: []string{"subscribe-error frank PUBLISHER_NOT_FOUND", "leave frank"}},
		{name: "subscribe without SUBSCRIBE", path: "/whip/" + stage + "/subscribe/ghost", status: 403,
			token: func(h *harness) string { return h.token("frank", true, false) }, offer: subscribeOffer,
			calls: []string{"subscribe-error frank INSUFFICIENT_CAPABILITIES"}},
		{name: "video in no codec Footlight takes", path: "/whip/" + stage, status: 400, offer: offerOf(vp9, opus),
			token: func(h *harness) string { return h.token("dave", true, true) },
			calls: []string{"publish-error dave INVALID_VIDEO_CODEC", "leave dave"}, never: []string{"start-publish dave"}},
		{name: "audio that is not Opus", path: "/whip/" + stage, status: 400, offer: offerOf(h264Baseline, pcmu),
			token: func(h *harness) string { return h.token("dave", true, true) },
			calls: []string{"publish-error dave INVALID_AUDIO_CODEC", "leave dave"}, never: []string{"start-publish dave"}},
		{name: "no acceptable codec, without PUBLISH", path: "/whip/" + stage, status: 403, offer: offerOf(vp9, opus),
			token: func(h *harness) string { return h.token("dave", false, true) },
			calls: []string{"publish-error dave INSUFFICIENT_CAPABILITIES"}, never: []string{"publish-error dave INVALID_VIDEO_CODEC"}},
		{name: "not SDP", path: "/whip/" + stage, status: 415, ctype: "application/json",
			token: func(h *harness) string { return h.token("alice", true, true) }},
		{name: "not an offer", path: "/whip/" + stage, status: 400, offer: func(testing.TB) string { return "hello" },
			token: func(h *harness) string { return h.token("alice", true, true) }},
		{name: "global form", path: "/whip", status: 201,
			token: func(h *harness) string { return h.token("alice", true, true) }},
		{name: "IVS web SDK form", path: "/whip/" + stage + "/publish/alice", status: 201,
			token: func(h *harness) string { return h.token("alice", true, true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			offer := publishOffer
			if tt.offer != nil {
				offer = tt.offer
			}
			ctype := "application/sdp"
			if tt.ctype != "" {
				ctype = tt.ctype
			}
			resp := h.whip.do(http.MethodPost, tt.path, tt.token(h), ctype, offer(t))
			if resp.status != tt.status {
				t.Fatalf("status %d (%q), want %d", resp.status, resp.body, tt.status)
			}
			if resp.status >= 400 && resp.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("refusal Content-Type %q", resp.header.Get("Content-Type"))
			}
			for _, c := range tt.calls {
				if !h.stages.saw(c) {
					t.Errorf("domain did not see %q; saw %v", c, h.stages.calls)
				}
			}
			for _, c := range tt.never {
				if h.stages.saw(c) {
					t.Errorf("domain saw %q; saw %v", c, h.stages.calls)
				}
			}
		})
	}
}

// TestSessionOwnership: PATCH and DELETE need a token of the session's participant.
func TestSessionOwnership(t *testing.T) {
	h := newHarness(t)
	tok := h.token("alice", true, true)
	resp := h.whip.post("/whip/"+h.stageID, tok, publishOffer(t))
	if resp.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.status, resp.body)
	}
	loc := resp.header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/"+h.stageID+"/session/") {
		t.Fatalf("Location %q", loc)
	}
	frag := "a=candidate:1 1 udp 2130706431 127.0.0.1 9999 typ host\r\n"
	other := h.token("bob", true, true)
	if r := h.whip.patch(loc, other, frag); r.status != http.StatusForbidden {
		t.Errorf("PATCH with another participant's token: %d, want 403", r.status)
	}
	if r := h.whip.del(loc, other); r.status != http.StatusForbidden {
		t.Errorf("DELETE with another participant's token: %d, want 403", r.status)
	}
	if r := h.whip.patch(loc, "", frag); r.status != http.StatusUnauthorized {
		t.Errorf("PATCH without a token: %d, want 401", r.status)
	}
	if r := h.whip.patch("/whip/"+h.stageID+"/session/nope", tok, frag); r.status != http.StatusNotFound {
		t.Errorf("PATCH of an unknown session: %d, want 404", r.status)
	}
	if r := h.whip.patch(loc, tok, frag, "Content-Type", "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("PATCH of text/plain: %d, want 415", r.status)
	}
	if r := h.whip.patch(loc, tok, frag); r.status != http.StatusNoContent {
		t.Errorf("PATCH by the owner: %d %s, want 204", r.status, r.body)
	}
	if r := h.whip.del(loc, tok); r.status != http.StatusOK {
		t.Errorf("DELETE by the owner: %d, want 200", r.status)
	}
	if r := h.whip.del(loc, tok); r.status != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", r.status)
	}
	if !h.stages.saw("stop-publish alice") || !h.stages.saw("leave alice") {
		t.Errorf("domain calls %v", h.stages.calls)
	}
}
