package rtc

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestPublishSubscribe: a publisher sends H.264 and Opus; two subscribers receive both, video
// in order and starting at a keyframe whose SPS is the source's.
func TestPublishSubscribe(t *testing.T) {
	h := newHarness(t)
	frames := h264Frames(t, 3, 30)
	pub := startPublisher(t, h, "alice", frames)
	subs := []*testSubscriber{startSubscriber(t, h, "bob", "alice"), startSubscriber(t, h, "carol", "alice")}
	for _, s := range subs {
		eventually(t, 10*time.Second, "packets at a subscriber", func() bool {
			v, a := s.counts()
			return v >= 90 && a >= 40
		})
	}
	for i, s := range subs {
		video, _ := s.snapshot()
		if !isH264Keyframe(video.first) {
			t.Errorf("subscriber %d: first video packet (NAL type %d) does not start a keyframe", i, video.first[0]&0x1f)
		}
		if sps := spsOf(frames[0]); !bytes.Contains(video.first, sps) {
			t.Errorf("subscriber %d: first video packet does not carry the source's SPS", i)
		}
		checkInOrder(t, video.seqs)
	}
	if !h.stages.saw("start-subscribe bob alice") || !h.stages.saw("start-publish alice") {
		t.Errorf("domain calls: %v", h.stages.calls)
	}
	_ = pub
}

// checkInOrder asserts sequence numbers only move forward, by one except across losses.
func checkInOrder(t testing.TB, seqs []uint16) {
	t.Helper()
	gaps := 0
	for i := 1; i < len(seqs); i++ {
		if !seqNewer(seqs[i], seqs[i-1]) {
			t.Fatalf("sequence went back at %d: %d after %d", i, seqs[i], seqs[i-1])
		}
		if seqs[i]-seqs[i-1] != 1 {
			gaps++
		}
	}
	if gaps > len(seqs)/100 {
		t.Errorf("%d gaps in %d packets", gaps, len(seqs))
	}
}

// TestLateSubscriberGetsKeyframe: with an IDR only every 10 s, a subscriber joining mid-GOP
// gets a keyframe only because the server sent the publisher a PLI.
func TestLateSubscriberGetsKeyframe(t *testing.T) {
	h := newHarness(t)
	frames := h264Frames(t, 10, 300)
	pub := startPublisher(t, h, "alice", frames)
	eventually(t, 10*time.Second, "publisher past its first keyframe", func() bool { return pub.sent.Load() > 30 })
	plisBefore := pub.plis.Load()

	s := startSubscriber(t, h, "bob", "alice")
	eventually(t, 5*time.Second, "first video packet", func() bool {
		v, _ := s.counts()
		return v > 0
	})
	video, _ := s.snapshot()
	if !isH264Keyframe(video.first) {
		t.Errorf("first video packet (NAL type %d) does not start a keyframe", video.first[0]&0x1f)
	}
	if pub.plis.Load() <= plisBefore {
		t.Errorf("no PLI reached the publisher after the subscriber joined")
	}
	t.Logf("first frame %v after subscribing", video.firstAt.Sub(s.started))
}

// TestTrickle: a publisher offers without candidates and PATCHes them afterwards
// (RFC 9725 §4.3.1); the server applies them and the connection comes up.
func TestTrickle(t *testing.T) {
	h := newHarness(t)
	pc := newClientPC(t)
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(video); err != nil {
		t.Fatal(err)
	}
	cands := make(chan *webrtc.ICECandidate, 32)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) { cands <- c })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	tok := h.token("alice", true, false)
	resp := h.whip.post("/whip/"+h.stageID, tok, withoutCandidates(offer.SDP))
	if resp.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.status, resp.body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.body}); err != nil {
		t.Fatal(err)
	}
	loc := resp.header.Get("Location")
	frag := sdpFragOf(t, pc, cands)
	if r := h.whip.patch(loc, tok, frag, "If-Match", resp.header.Get("ETag")); r.status != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	waitConnected(t, pc)
	x, err := h.sfu.session(loc[strings.LastIndex(loc, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	if x.trickled.Load() == 0 {
		t.Errorf("the server added no trickled candidate")
	}
	if r := h.whip.patch(loc, tok, frag, "If-Match", `"stale"`); r.status != http.StatusPreconditionFailed {
		t.Errorf("PATCH with a stale If-Match: %d, want 412", r.status)
	}
	restart := strings.Replace(frag, "a=ice-ufrag:", "a=ice-ufrag:x", 1)
	if r := h.whip.patch(loc, tok, restart, "If-Match", "*"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("PATCH asking for an ICE restart: %d, want 422", r.status)
	}
}

// withoutCandidates strips candidate lines from an SDP.
func withoutCandidates(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// sdpFragOf collects pc's candidates until gathering ends and writes them as a
// trickle-ice-sdpfrag (RFC 8840 §9) for the first m-line.
func sdpFragOf(t testing.TB, pc *webrtc.PeerConnection, cands <-chan *webrtc.ICECandidate) string {
	t.Helper()
	sd := &sdp.SessionDescription{}
	if err := sd.UnmarshalString(pc.LocalDescription().SDP); err != nil {
		t.Fatal(err)
	}
	md := sd.MediaDescriptions[0]
	ufrag, _ := md.Attribute("ice-ufrag")
	pwd, _ := md.Attribute("ice-pwd")
	mid, _ := md.Attribute("mid")
	var b strings.Builder
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=%s 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:%s\r\n", ufrag, pwd, md.MediaName.Media, mid)
	n := 0
	for c := range cands {
		if c == nil {
			break
		}
		fmt.Fprintf(&b, "a=%s\r\n", c.ToJSON().Candidate)
		n++
	}
	if n == 0 {
		t.Fatal("the client gathered no candidate")
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// TestVP8: an offer without H.264 publishes VP8; a late subscriber starts at a VP8 keyframe.
func TestVP8(t *testing.T) {
	h := newHarness(t)
	pub := startPublisherWith(t, h, newVP8ClientPC(t), "alice", webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, vp8Frames(t, 10, 300))
	eventually(t, 10*time.Second, "publisher past its first keyframe", func() bool { return pub.sent.Load() > 30 })
	s := startSubscriber(t, h, "bob", "alice")
	eventually(t, 5*time.Second, "video at the subscriber", func() bool {
		v, _ := s.counts()
		return v >= 30
	})
	video, _ := s.snapshot()
	if !isVP8Keyframe(video.first) {
		t.Errorf("first video packet does not start a VP8 keyframe: % x", video.first[:min(8, len(video.first))])
	}
	checkInOrder(t, video.seqs)
	if u := h.sfu.publisher(testAccount+h.stageID, "alice").upTracks(); !isMime(u[0].codec, webrtc.MimeTypeVP8) {
		t.Errorf("publisher's video codec is %s", u[0].codec.MimeType)
	}
}
