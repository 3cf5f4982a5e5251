package rtc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
	"github.com/pion/webrtc/v4"
)

func TestCORS(t *testing.T) {
	h := newHarness(t)
	resp := h.whip.do(http.MethodOptions, "/whip/"+h.stageID+"/subscribe/alice", "", "", "",
		"Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type")
	if resp.status != http.StatusNoContent {
		t.Fatalf("preflight: %d", resp.status)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":   "https://app.example",
		"Access-Control-Allow-Methods":  "POST, PATCH, DELETE, OPTIONS",
		"Access-Control-Allow-Headers":  "Authorization, Content-Type, If-Match",
		"Access-Control-Expose-Headers": "Location, ETag, Link",
	}
	for k, v := range want {
		if got := resp.header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	for _, path := range []string{"/whip", "/whip/" + h.stageID} {
		r := h.whip.do(http.MethodPost, path, "", "application/sdp", "", "Origin", "https://app.example")
		if r.status != http.StatusUnauthorized {
			t.Errorf("POST %s without a token: %d", path, r.status)
		}
		if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			r.header.Get("Access-Control-Expose-Headers") != "Location, ETag, Link" {
			t.Errorf("POST %s refusal lacks CORS headers: %v", path, r.header)
		}
	}
	ok := h.whip.post("/whip/"+h.stageID, h.token("alice", true, true), publishOffer(t))
	if ok.status != http.StatusCreated || ok.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("POST: %d, Allow-Origin %q", ok.status, ok.header.Get("Access-Control-Allow-Origin"))
	}
}

// sessionID is the last segment of a Location.
func sessionID(loc string) string { return loc[strings.LastIndex(loc, "/")+1:] }

// gone waits until the SFU no longer knows the session.
func gone(t testing.TB, h *harness, loc string, within time.Duration) {
	t.Helper()
	eventually(t, within, "session "+loc+" ended", func() bool {
		_, err := h.sfu.session(sessionID(loc))
		return err != nil
	})
}

func TestDeleteLeaves(t *testing.T) {
	h := newHarness(t)
	pub := startPublisher(t, h, "alice", h264Frames(t, 1, 30))
	waitConnected(t, pub.pc)
	sub := startSubscriber(t, h, "bob", "alice")
	waitConnected(t, sub.pc)

	if r := h.whip.del(sub.location, sub.token); r.status != http.StatusOK {
		t.Fatalf("DELETE subscription: %d %s", r.status, r.body)
	}
	if !h.stages.saw("stop-subscribe bob alice") || !h.stages.saw("leave bob") {
		t.Errorf("after DELETE the domain saw %v", h.stages.calls)
	}
	if _, err := h.sfu.session(sessionID(sub.location)); err == nil {
		t.Errorf("subscription still registered after DELETE")
	}

	// A publisher leaving closes every subscription to it.
	sub2 := startSubscriber(t, h, "carol", "alice")
	waitConnected(t, sub2.pc)
	if r := h.whip.del(pub.location, pub.token); r.status != http.StatusOK {
		t.Fatalf("DELETE publish: %d %s", r.status, r.body)
	}
	gone(t, h, sub2.location, time.Second)
	for _, c := range []string{"stop-publish alice", "leave alice", "stop-subscribe carol alice", "leave carol"} {
		if !h.stages.saw(c) {
			t.Errorf("domain did not see %q: %v", c, h.stages.calls)
		}
	}
}

// TestKick: the domain's Kick (DisconnectParticipant) closes the connection within a second
// and the member leaves; KickStage (DeleteStage) does the same for a whole stage.
func TestKick(t *testing.T) {
	h := newHarness(t)
	pub := startPublisher(t, h, "alice", h264Frames(t, 1, 30))
	waitConnected(t, pub.pc)
	sub := startSubscriber(t, h, "bob", "alice")
	waitConnected(t, sub.pc)

	m := h.stages.member(t, "bob", 0)
	m.p.Kick(stage.ReasonDisconnected)
	gone(t, h, sub.location, time.Second)
	eventually(t, time.Second, "bob left", m.hasLeft)
	eventually(t, 5*time.Second, "subscriber's client sees the close", func() bool {
		return sub.pc.ConnectionState() != webrtc.PeerConnectionStateConnected
	})

	h.sfu.KickStage(testAccount+h.stageID, stage.ReasonStageDeleted)
	gone(t, h, pub.location, time.Second)
	eventually(t, time.Second, "alice left", h.stages.member(t, "alice", 0).hasLeft)
}

// TestSecondPublishReplacesFirst: one live publish per token (DESIGN.md).
func TestSecondPublishReplacesFirst(t *testing.T) {
	h := newHarness(t)
	frames := h264Frames(t, 1, 30)
	first := startPublisher(t, h, "alice", frames)
	waitConnected(t, first.pc)
	second := startPublisher(t, h, "alice", frames)
	waitConnected(t, second.pc)

	gone(t, h, first.location, time.Second)
	if !h.stages.member(t, "alice", 0).hasLeft() {
		t.Errorf("the first connection's member did not leave")
	}
	if h.stages.member(t, "alice", 1).hasLeft() {
		t.Errorf("the second connection's member left")
	}
	if got := h.sfu.publisher(testAccount+h.stageID, "alice"); got == nil || got.sess.location() != second.location {
		t.Errorf("the live publish is not the second one")
	}
	// Subscribers now get the second publish.
	sub := startSubscriber(t, h, "bob", "alice")
	eventually(t, 5*time.Second, "video from the second publish", func() bool {
		v, _ := sub.counts()
		return v > 0
	})
}

// TestCloseEndsEverything: Close ends every connection and leaves every member.
func TestCloseEndsEverything(t *testing.T) {
	h := newHarness(t)
	pub := startPublisher(t, h, "alice", h264Frames(t, 1, 30))
	sub := startSubscriber(t, h, "bob", "alice")
	waitConnected(t, sub.pc)
	if err := h.sfu.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob"} {
		if !h.stages.member(t, id, 0).hasLeft() {
			t.Errorf("%s did not leave", id)
		}
	}
	if r := h.whip.post("/whip/"+h.stageID, pub.token, publishOffer(t)); r.status != http.StatusServiceUnavailable {
		t.Errorf("POST after Close: %d, want 503", r.status)
	}
}

// TestICETCP: a client that can only use TCP connects through the ICE-TCP listener on the
// media port (RFC 6544).
func TestICETCP(t *testing.T) {
	h := newHarness(t)
	pc := newClientPC(t, webrtc.NetworkTypeTCP4)
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(video); err != nil {
		t.Fatal(err)
	}
	h.whip.connect(pc, "/whip/"+h.stageID, h.token("alice", true, false))
	waitConnected(t, pc)
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v, %v", pair, err)
	}
	if pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Errorf("connected over %s", pair.Local.Protocol)
	}
}

// TestPublicIP: with a NAT 1:1 address, the answer's candidates advertise it.
func TestPublicIP(t *testing.T) {
	checkGoroutines(t)
	stages := newFakeStages("stageAAAAAAA")
	sfu, err := New(Config{
		PublicIP: "203.0.113.7", Tokens: stubVerifier{}, Stages: stages, StageExists: stages.stageExists,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sfu.Close()
	srv := httptest.NewServer(sfu.Handler())
	defer srv.Close()
	w := &whipClient{t: t, http: srv.Client(), base: srv.URL}
	resp := w.post("/whip/stageAAAAAAA", "any", publishOffer(t))
	if resp.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.status, resp.body)
	}
	if !strings.Contains(resp.body, " 203.0.113.7 "+strconv.Itoa(sfu.UDPPort())+" typ host") {
		t.Errorf("answer does not advertise the public IP:\n%s", resp.body)
	}
	if strings.Contains(resp.body, " 127.0.0.1 ") {
		t.Errorf("answer still advertises loopback")
	}
}

// stubVerifier accepts any token as alice's, publishing on stageAAAAAAA.
type stubVerifier struct{}

func (stubVerifier) Verify(context.Context, string, time.Time) (*token.Claims, error) {
	return &token.Claims{ParticipantID: "alice", StageID: "stageAAAAAAA", StageArn: testAccount + "stageAAAAAAA", Publish: true}, nil
}
