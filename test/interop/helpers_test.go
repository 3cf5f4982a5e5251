// Package interop_test runs Footlight against media peers other than the project's own test
// clients (GStreamer's webrtcbin) and under network impairment (packet loss), end to end: a
// real server started in process, stages and tokens made through the signed API, media over
// real UDP on loopback.
package interop_test

import (
	"context"
	"testing"
	"time"

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
