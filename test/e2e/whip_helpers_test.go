package e2e_test

// Stage, token and event helpers of the end-to-end media tests, and thin wrappers over
// internal/whiptest's pion WHIP publishers and WHEP-style subscribers.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// tokenConfig is one participantTokenConfiguration of CreateStage.
type tokenConfig struct {
	user string
	caps []string // nil: the default (PUBLISH and SUBSCRIBE)
}

// createStage creates a stage with one token per config, in order.
func createStage(t *testing.T, c *servertest.Client, cfgs ...tokenConfig) (stageOut, []tokenOut) {
	t.Helper()
	list := []any{}
	for _, cfg := range cfgs {
		m := map[string]any{"userId": cfg.user}
		if cfg.caps != nil {
			m["capabilities"] = cfg.caps
		}
		list = append(list, m)
	}
	var out struct {
		Stage             stageOut   `json:"stage"`
		ParticipantTokens []tokenOut `json:"participantTokens"`
	}
	if err := c.Call(context.Background(), "CreateStage", map[string]any{"name": "e2e-media", "participantTokenConfigurations": list}, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if len(out.ParticipantTokens) != len(cfgs) {
		t.Fatalf("CreateStage returned %d tokens for %d configurations", len(out.ParticipantTokens), len(cfgs))
	}
	return out.Stage, out.ParticipantTokens
}

// createToken makes one more participant token with CreateParticipantToken.
func createToken(t *testing.T, c *servertest.Client, stageArn string, cfg tokenConfig) tokenOut {
	t.Helper()
	in := map[string]any{"stageArn": stageArn, "userId": cfg.user}
	if cfg.caps != nil {
		in["capabilities"] = cfg.caps
	}
	var out struct {
		ParticipantToken tokenOut `json:"participantToken"`
	}
	if err := c.Call(context.Background(), "CreateParticipantToken", in, &out); err != nil {
		t.Fatalf("CreateParticipantToken: %v", err)
	}
	return out.ParticipantToken
}

// activeSession returns the stage's running session id, failing if it has none.
func activeSession(t *testing.T, c *servertest.Client, stageArn string) string {
	t.Helper()
	var got struct{ Stage stageOut }
	if err := c.Call(context.Background(), "GetStage", map[string]string{"arn": stageArn}, &got); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if got.Stage.ActiveSessionID == "" {
		t.Fatalf("stage %s has no active session", stageArn)
	}
	return got.Stage.ActiveSessionID
}

// participantEvent is one event of ListParticipantEvents.
type participantEvent struct {
	Name                string  `json:"name"`
	ParticipantID       string  `json:"participantId"`
	RemoteParticipantID *string `json:"remoteParticipantId"`
	ErrorCode           *string `json:"errorCode"`
}

func (e participantEvent) String() string {
	s := e.Name
	if e.RemoteParticipantID != nil {
		s += " remote=" + *e.RemoteParticipantID
	}
	if e.ErrorCode != nil {
		s += " code=" + *e.ErrorCode
	}
	return s
}

// participantEvents lists a participant's events of a session (the API pages at 50; the
// tests' participants have fewer).
func participantEvents(t *testing.T, c *servertest.Client, stageArn, session, participantID string) []participantEvent {
	t.Helper()
	var out struct {
		Events []participantEvent `json:"events"`
	}
	in := map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": participantID}
	if err := c.Call(context.Background(), "ListParticipantEvents", in, &out); err != nil {
		t.Fatalf("ListParticipantEvents(%s): %v", participantID, err)
	}
	return out.Events
}

// waitEvent polls a participant's events until one has this name, remote participant (""
// for any) and error code ("" for none expected). Events are persisted off the request's
// path, so the API may lag the media endpoint's answer.
func waitEvent(t *testing.T, c *servertest.Client, stageArn, session, participantID, name, remote, code string) {
	t.Helper()
	var last []participantEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		last = participantEvents(t, c, stageArn, session, participantID)
		for _, e := range last {
			if e.Name != name || e.ParticipantID != participantID {
				continue
			}
			if remote != "" && (e.RemoteParticipantID == nil || *e.RemoteParticipantID != remote) {
				continue
			}
			if code == "" && e.ErrorCode == nil || e.ErrorCode != nil && *e.ErrorCode == code {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("participant %s: no %s event (remote %q, errorCode %q) within 10 s; events: %v", participantID, name, remote, code, last)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// connect is whiptest.Connect also requiring the answer's Content-Type to be application/sdp.
func connect(t testing.TB, pc *webrtc.PeerConnection, u, tok string) whiptest.Session {
	t.Helper()
	s := whiptest.Connect(t, pc, u, tok)
	if ct := s.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	return s
}

// startPublisher publishes as participant id to the stage's WHIP URL and starts sending.
func startPublisher(t testing.TB, whip, id, tok string, frames [][]byte) *whiptest.Publisher {
	t.Helper()
	return startPublisherAudio(t, whip, id, tok, frames, nil)
}

// startPublisherAudio is startPublisher sending these Opus packets (nil: silence).
func startPublisherAudio(t testing.TB, whip, id, tok string, frames, audio [][]byte) *whiptest.Publisher {
	t.Helper()
	p := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), id, tok, frames)
	p.Audio = audio
	p.Location = connect(t, p.PC, whip, tok).Location
	p.Run()
	return p
}

// opusTone encodes a 3 s tone of hz with ffmpeg (whiptest.EncodeOpusTone), cached per process.
func opusTone(t testing.TB, hz int) [][]byte {
	t.Helper()
	key := fmt.Sprintf("opus/%d", hz)
	ffmpegMu.Lock()
	defer ffmpegMu.Unlock()
	if pkts, ok := ffmpegCache[key]; ok {
		return pkts
	}
	dir, err := os.MkdirTemp("", "footlight-e2e-opus-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pkts := whiptest.EncodeOpusTone(t, dir, 3, hz)
	ffmpegCache[key] = pkts
	return pkts
}

// checkAudioPayloads reports an error unless the Opus payloads that arrived are the
// publisher's packets, byte for byte and in order: a run of its loop starting anywhere, each
// packet where its sequence number puts it (a lost packet leaves a gap, nothing else).
func checkAudioPayloads(t testing.TB, who string, sent [][]byte, got whiptest.Track) {
	t.Helper()
	if len(got.Payloads) == 0 || len(got.Payloads) != len(got.Seqs) {
		t.Errorf("%s: %d audio payloads for %d packets", who, len(got.Payloads), len(got.Seqs))
		return
	}
	mismatch := ""
	for k := range sent {
		if !bytes.Equal(sent[k], got.Payloads[0]) {
			continue
		}
		mismatch = ""
		for i, p := range got.Payloads {
			want := (k + int(got.Seqs[i]-got.Seqs[0])) % len(sent)
			if !bytes.Equal(p, sent[want]) {
				mismatch = fmt.Sprintf("packet %d (sequence number %d) is not the publisher's packet %d", i, got.Seqs[i], want)
				break
			}
		}
		if mismatch == "" {
			return
		}
	}
	if mismatch == "" {
		mismatch = "the first packet is none of the publisher's"
	}
	t.Errorf("%s: the Opus payloads that arrived are not the published ones: %s", who, mismatch)
}

// startSubscriber subscribes with tok to target through POST <whip>/subscribe/<target>.
func startSubscriber(t testing.TB, whip, target, tok string) *whiptest.Subscriber {
	t.Helper()
	s := whiptest.NewSubscriber(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), target, tok)
	sess := connect(t, s.PC, whip+"/subscribe/"+target, tok)
	s.Location, s.Posted = sess.Location, sess.Posted
	return s
}

// poll fails t unless cond holds within d.
func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

var (
	ffmpegMu    sync.Mutex
	ffmpegCache = map[string][][]byte{}
)

// h264Frames encodes a 320x240 test pattern with ffmpeg (libx264 constrained baseline, no
// B-frames, an IDR every gop frames) and returns its access units in Annex B form.
// Encodings are cached per process.
func h264Frames(t testing.TB, seconds, gop int) [][]byte {
	t.Helper()
	key := fmt.Sprintf("%d/%d", seconds, gop)
	ffmpegMu.Lock()
	defer ffmpegMu.Unlock()
	if aus, ok := ffmpegCache[key]; ok {
		return aus
	}
	dir, err := os.MkdirTemp("", "footlight-e2e-h264-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	aus := whiptest.EncodeH264(t, dir, whiptest.H264{Size: "320x240", Seconds: seconds, GOP: gop})
	ffmpegCache[key] = aus
	return aus
}
