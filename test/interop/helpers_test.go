// Package interop_test runs Footlight against media peers other than the project's own test
// clients (GStreamer's webrtcbin) and under network impairment (packet loss), end to end: a
// real server started in process, stages and tokens made through the signed API, media over
// real UDP on loopback.
package interop_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
)

type tokenOut struct {
	ParticipantID string `json:"participantId"`
	Token         string `json:"token"`
}

type stageOut struct {
	Arn       string `json:"arn"`
	Endpoints struct {
		WHIP string `json:"whip"`
	} `json:"endpoints"`
}

// newStage creates a stage with one token (PUBLISH and SUBSCRIBE, IVS's default) per userId.
func newStage(t *testing.T, s *servertest.Server, users ...string) (stageOut, []tokenOut) {
	t.Helper()
	cfgs := []any{}
	for _, u := range users {
		cfgs = append(cfgs, map[string]any{"userId": u})
	}
	var out struct {
		Stage             stageOut   `json:"stage"`
		ParticipantTokens []tokenOut `json:"participantTokens"`
	}
	err := s.Client().Call(context.Background(), "CreateStage",
		map[string]any{"name": "interop", "participantTokenConfigurations": cfgs}, &out)
	if err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if out.Stage.Endpoints.WHIP == "" || len(out.ParticipantTokens) != len(users) {
		t.Fatalf("CreateStage returned no WHIP endpoint or %d tokens for %d users", len(out.ParticipantTokens), len(users))
	}
	return out.Stage, out.ParticipantTokens
}

// newPeer is a pion peer as a browser would be: default codecs (H.264, VP8, VP9, AV1 with
// their RTX, Opus) and default interceptors (NACK, reports, TWCC), UDP4 with loopback
// candidates. first, if given, is registered before the defaults: it is the innermost
// interceptor, the first to see incoming packets and the last to see outgoing ones. last, if
// given, is registered after them. The peer is closed at cleanup.
func newPeer(t *testing.T, first, last interceptor.Factory) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if first != nil {
		reg.Add(first)
	}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	if last != nil {
		reg.Add(last)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.GracefulClose() })
	return pc
}

// whipConnect offers with every candidate gathered, POSTs the offer to url with the token and
// applies the 201's answer. It returns the session's Location, absolute.
func whipConnect(t *testing.T, pc *webrtc.PeerConnection, url, tok string) string {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("ICE gathering did not complete within 10 s")
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("201 without a usable Location: %v", err)
	}
	return loc.String()
}

// trackLog is what a subscriber's application read from one track.
type trackLog struct {
	mime     string
	packets  int
	keyframe bool            // video: a packet that starts an H.264 keyframe arrived
	seqs     map[uint16]bool // unique sequence numbers
	payloads map[uint16]uint64
}

// subscriber is a pion WHEP-style client watching one publisher.
type subscriber struct {
	pc *webrtc.PeerConnection

	mu    sync.Mutex // guards video and audio
	video trackLog
	audio trackLog

	wg sync.WaitGroup // the track readers
}

// subscribe watches target on the stage's WHIP endpoint from pc (recvonly audio and video).
func subscribe(t *testing.T, pc *webrtc.PeerConnection, whip, tok, target string) *subscriber {
	t.Helper()
	s := &subscriber{pc: pc,
		video: trackLog{seqs: map[uint16]bool{}, payloads: map[uint16]uint64{}},
		audio: trackLog{seqs: map[uint16]bool{}, payloads: map[uint16]uint64{}},
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.read(tr) })
	})
	whipConnect(t, pc, whip+"/subscribe/"+target, tok)
	t.Cleanup(func() {
		pc.GracefulClose()
		s.wg.Wait()
	})
	return s
}

// read records a track's packets until the PeerConnection closes.
func (s *subscriber) read(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.mu.Lock()
		l := &s.audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			l = &s.video
			l.keyframe = l.keyframe || isH264Keyframe(pkt.Payload)
		}
		l.mime = tr.Codec().MimeType
		l.packets++
		l.seqs[pkt.SequenceNumber] = true
		l.payloads[pkt.SequenceNumber] = hash(pkt.Payload)
		s.mu.Unlock()
	}
}

// snapshot returns copies of the counts and flags (not the maps).
func (s *subscriber) snapshot() (video, audio trackLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	video, audio = s.video, s.audio
	video.seqs, video.payloads, audio.seqs, audio.payloads = nil, nil, nil, nil
	return video, audio
}

// waitFor polls cond until it holds or d passes; it never asserts a timing.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// hash is FNV-1a over a payload: it identifies a packet across the SFU, which rewrites
// headers but forwards payloads unchanged.
func hash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// isH264Keyframe reports whether an RTP payload (RFC 6184) starts an H.264 keyframe: an IDR
// or SPS NAL unit alone, inside a STAP-A, or as the first fragment of an FU-A.
func isH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	key := func(t byte) bool { return t == 5 || t == 7 }
	switch p[0] & 0x1f {
	case 5, 7:
		return true
	case 24: // STAP-A: one header byte, then (16-bit size, NAL unit)...
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if key(p[i] & 0x1f) {
				return true
			}
			i += size
		}
	case 28: // FU-A: the FU header's S bit marks the first fragment
		return len(p) > 1 && p[1]&0x80 != 0 && key(p[1]&0x1f)
	}
	return false
}
