package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// TestRefusalsThroughServer: the media endpoints refuse, through the real server and with
// tokens from the real API, an expired token (401), a token for another stage (403), a bad
// signature (401), a subscribe-only token publishing (403, PUBLISH_ERROR
// INSUFFICIENT_CAPABILITIES), a disconnected participant coming back (403), and a
// subscription to someone who does not publish (404, SUBSCRIBE_ERROR PUBLISHER_NOT_FOUND).
func TestRefusalsThroughServer(t *testing.T) {
	s := servertest.Start(t, nil)
	c, ctx := s.Client(), context.Background()
	st, toks := createStage(t, c,
		tokenConfig{user: "anchor"}, tokenConfig{user: "viewer-only", caps: []string{"SUBSCRIBE"}},
		tokenConfig{user: "kicked"}, tokenConfig{user: "idle"}, tokenConfig{user: "watcher", caps: []string{"SUBSCRIBE"}})
	_, otherToks := createStage(t, c, tokenConfig{user: "elsewhere"})
	whip := st.Endpoints.WHIP
	frames := h264Frames(t, 1, 30)
	// The anchor keeps the stage's session alive through the test, so every refusal's
	// event lands in one session.
	anchor, _, err := dialEvents(t, st, toks[0].Token)
	if err != nil {
		t.Fatalf("anchor's events websocket: %v", err)
	}
	anchor.next() // STAGE_STATE
	session := activeSession(t, c, st.Arn)
	offer := func() string {
		t.Helper()
		return whiptest.GatheredOffer(t, whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), "offer", "", frames).PC)
	}
	expect := func(what string, r whiptest.Response, status int) {
		t.Helper()
		if r.Status != status {
			t.Errorf("%s: %d %q, want %d", what, r.Status, r.Body, status)
		}
		if ct := r.Header.Get("Content-Type"); r.Status >= 400 && !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: refusal Content-Type %q, want text/plain", what, ct)
		}
	}

	// Customer-signed tokens: a P-384 key imported with ImportPublicKey, kid = its ARN.
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var imported struct {
		PublicKey struct{ Arn string } `json:"publicKey"`
	}
	material := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := c.Call(ctx, "ImportPublicKey", map[string]any{"publicKeyMaterial": material, "name": "e2e"}, &imported); err != nil {
		t.Fatalf("ImportPublicKey: %v", err)
	}
	stageID := st.Arn[strings.LastIndex(st.Arn, "/")+1:]
	selfSigned := func(jti string, iat, exp time.Time) string {
		t.Helper()
		tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
			"exp": exp.Unix(), "iat": iat.Unix(), "jti": jti,
			"resource": st.Arn, "topic": stageID,
			"events_url": st.Endpoints.Events, "whip_url": whip,
			"user_id": jti, "attributes": map[string]string{},
			"capabilities": map[string]bool{"allow_publish": true, "allow_subscribe": true}, "version": "1.0",
		})
		tok.Header["kid"] = imported.PublicKey.Arn
		signed, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	now := time.Now()
	// Control: the same key and claims with a future exp publish, so the 401 below is the
	// expiry's doing.
	valid := selfSigned("customerValid", now.Add(-time.Minute), now.Add(time.Hour))
	expect("customer-signed token", whiptest.PostOffer(t, whip, valid, offer()), http.StatusCreated)
	expired := selfSigned("customerLate", now.Add(-2*time.Hour), now.Add(-time.Hour))
	expect("expired token", whiptest.PostOffer(t, whip, expired, offer()), http.StatusUnauthorized)

	// A token of another stage on this stage's URL.
	expect("token for another stage", whiptest.PostOffer(t, whip, otherToks[0].Token, offer()), http.StatusForbidden)
	expect("token for another stage, subscribing", whiptest.PostOffer(t, whip+"/subscribe/"+toks[2].ParticipantID, otherToks[0].Token, offer()), http.StatusForbidden)

	// A bad signature: one character of the signature changed.
	tok := toks[3].Token
	i := strings.LastIndex(tok, ".") + 10
	flipped := byte('A')
	if tok[i] == 'A' {
		flipped = 'B'
	}
	bad := tok[:i] + string(flipped) + tok[i+1:]
	expect("bad signature", whiptest.PostOffer(t, whip, bad, offer()), http.StatusUnauthorized)

	// A subscribe-only token publishing.
	expect("subscribe-only token publishing", whiptest.PostOffer(t, whip, toks[1].Token, offer()), http.StatusForbidden)
	waitEvent(t, c, st.Arn, session, toks[1].ParticipantID, "PUBLISH_ERROR", "", "INSUFFICIENT_CAPABILITIES")

	// A disconnected participant coming back.
	kicked := startPublisher(t, whip, toks[2].ParticipantID, toks[2].Token, frames)
	whiptest.WaitConnected(t, kicked.PC, "publisher to disconnect")
	if err := c.Call(ctx, "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": kicked.ID, "reason": "e2e"}, nil); err != nil {
		t.Fatalf("DisconnectParticipant: %v", err)
	}
	expect("disconnected participant publishing again", whiptest.PostOffer(t, whip, toks[2].Token, offer()), http.StatusForbidden)
	sub := whiptest.NewSubscriber(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[0].ParticipantID, toks[2].Token)
	expect("disconnected participant subscribing", whiptest.PostOffer(t, whip+"/subscribe/"+toks[0].ParticipantID, toks[2].Token, whiptest.GatheredOffer(t, sub.PC)), http.StatusForbidden)

	// A subscription to a participant that does not publish.
	watch := whiptest.NewSubscriber(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[3].ParticipantID, toks[4].Token)
	expect("subscribing to a non-publisher", whiptest.PostOffer(t, whip+"/subscribe/"+toks[3].ParticipantID, toks[4].Token, whiptest.GatheredOffer(t, watch.PC)), http.StatusNotFound)
	waitEvent(t, c, st.Arn, session, toks[4].ParticipantID, "SUBSCRIBE_ERROR", toks[3].ParticipantID, "PUBLISHER_NOT_FOUND")
}

// codecOffer is a publish offer from a pion peer that has only these video and audio codecs.
func codecOffer(t *testing.T, video, audio webrtc.RTPCodecCapability) string {
	t.Helper()
	me := &webrtc.MediaEngine{}
	tracks := []struct {
		c    webrtc.RTPCodecCapability
		kind webrtc.RTPCodecType
		pt   webrtc.PayloadType
	}{{video, webrtc.RTPCodecTypeVideo, 98}, {audio, webrtc.RTPCodecTypeAudio, 0}}
	for _, tr := range tracks {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: tr.c, PayloadType: tr.pt}, tr.kind); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	for _, tr := range tracks {
		local, err := webrtc.NewTrackLocalStaticSample(tr.c, tr.kind.String(), "codec")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTrack(local); err != nil {
			t.Fatal(err)
		}
	}
	return whiptest.GatheredOffer(t, pc)
}

// TestCodecRefusalsThroughServer: a publish offering no video codec Footlight takes (VP9
// only) is refused with 400 and a PUBLISH_ERROR INVALID_VIDEO_CODEC; one whose audio is not
// Opus (PCMU), with 400 and INVALID_AUDIO_CODEC (IVS-BEHAVIOUR §3). Neither publishes: no
// PUBLISH_STARTED, and GetParticipant says published false.
func TestCodecRefusalsThroughServer(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "anchor"}, tokenConfig{user: "vp9"}, tokenConfig{user: "pcmu"})
	anchor, _, err := dialEvents(t, st, toks[0].Token) // keeps the session alive: one session for all
	if err != nil {
		t.Fatalf("anchor's events websocket: %v", err)
	}
	anchor.next() // STAGE_STATE
	session := activeSession(t, c, st.Arn)
	vp9 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}
	pcmu := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	for _, tt := range []struct {
		tok          tokenOut
		offer        string
		code, reason string
	}{
		{toks[1], codecOffer(t, vp9, whiptest.Opus), "INVALID_VIDEO_CODEC", "video"},
		{toks[2], codecOffer(t, whiptest.H264Baseline, pcmu), "INVALID_AUDIO_CODEC", "Opus"},
	} {
		r := whiptest.PostOffer(t, st.Endpoints.WHIP, tt.tok.Token, tt.offer)
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || !strings.Contains(r.Body, tt.reason) {
			t.Errorf("%s: %d %q (%s), want 400 with a text/plain reason naming %s", tt.code, r.Status, r.Body, r.Header.Get("Content-Type"), tt.reason)
		}
		waitEvent(t, c, st.Arn, session, tt.tok.ParticipantID, "PUBLISH_ERROR", "", tt.code)
		waitEvent(t, c, st.Arn, session, tt.tok.ParticipantID, "LEFT", "", "")
		for _, e := range participantEvents(t, c, st.Arn, session, tt.tok.ParticipantID) {
			if e.Name == "PUBLISH_STARTED" || e.Name == "PUBLISH_STOPPED" {
				t.Errorf("%s: the refused publish has a %s event", tt.code, e.Name)
			}
		}
		var got struct {
			Participant struct {
				Published bool `json:"published"`
			} `json:"participant"`
		}
		in := map[string]string{"stageArn": st.Arn, "sessionId": session, "participantId": tt.tok.ParticipantID}
		if err := c.Call(context.Background(), "GetParticipant", in, &got); err != nil || got.Participant.Published {
			t.Errorf("%s: GetParticipant: published %v, %v; want false", tt.code, got.Participant.Published, err)
		}
	}
}
