package compat_test

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// The two examples of the seed document (aws ivs-realtime create-stage help, "Examples"), as
// a user pastes them. Only --endpoint-url is added.
var (
	seedExample1 = []string{"ivs-realtime", "create-stage", "--name", "stage1", "--participant-token-configurations", "userId=alice"}
	seedExample2 = []string{"ivs-realtime", "create-stage", "--name", "stage1", "--auto-participant-recording-configuration",
		`{"mediaTypes": ["AUDIO_VIDEO"],"storageConfigurationArn": "arn:aws:ivs:us-west-2:123456789012:storage-configuration/abcdABCDefgh"}`}
	seedStorageARN = "arn:aws:ivs:us-west-2:123456789012:storage-configuration/abcdABCDefgh"
)

var (
	stageARNPattern      = regexp.MustCompile(`^arn:aws:ivs:us-east-1:[0-9]+:stage/[a-zA-Z0-9]{12}$`)
	participantIDPattern = regexp.MustCompile(`^[a-zA-Z0-9]{12}$`)
)

// stageMembers are the members of the model's Stage shape: a reply may carry no other key.
var stageMembers = []string{"arn", "name", "activeSessionId", "tags", "autoParticipantRecordingConfiguration", "endpoints"}

// TestSeedExamples runs the seed's two create-stage examples verbatim with the aws CLI
// against the footlight binary and checks the output has the seed's shape.
func TestSeedExamples(t *testing.T) {
	t.Parallel()
	// Nothing listens on the RTMP ports yet: the flags only make the rtmp/rtmps endpoints
	// appear, as they do on IVS. StartBinary passes them after its own "off", and the last
	// flag wins.
	p := servertest.StartBinary(t, t.TempDir(), "--rtmp-listen", ":1935", "--rtmps-listen", ":4443")
	env := p.Env()

	t.Run("example1 participant token", func(t *testing.T) {
		before := time.Now()
		var out map[string]any
		awsJSON(t, env, p.URL, &out, seedExample1...)
		after := time.Now()

		requireKeys(t, "output", out, "stage", "participantTokens")
		st := checkSeedStage(t, p.URL, out["stage"])
		if _, ok := st["autoParticipantRecordingConfiguration"]; ok {
			rec := objectAt(t, "stage.autoParticipantRecordingConfiguration", st["autoParticipantRecordingConfiguration"])
			if rec["storageConfigurationArn"] != "" {
				t.Errorf("stage created without recording has storageConfigurationArn %v, want \"\"", rec["storageConfigurationArn"])
			}
		}

		tokens, ok := out["participantTokens"].([]any)
		if !ok || len(tokens) != 1 {
			t.Fatalf("participantTokens = %#v, want a list of one token", out["participantTokens"])
		}
		tok := objectAt(t, "participantTokens[0]", tokens[0])
		requireKeys(t, "participantTokens[0]", tok, "participantId", "token", "userId", "expirationTime")
		if id := stringAt(t, "participantId", tok["participantId"]); !participantIDPattern.MatchString(id) {
			t.Errorf("participantId %q is not 12 alphanumerics", id)
		}
		if u := stringAt(t, "userId", tok["userId"]); u != "alice" {
			t.Errorf("userId = %q, want alice", u)
		}
		exp, err := time.Parse(time.RFC3339, stringAt(t, "expirationTime", tok["expirationTime"]))
		if err != nil {
			t.Fatalf("expirationTime is not ISO 8601: %v", err)
		}
		lo, hi := before.Add(718*time.Minute), after.Add(722*time.Minute)
		if exp.Before(lo) || exp.After(hi) {
			t.Errorf("expirationTime %v is not 720 min (±2) after the call (%v..%v)", exp, lo, hi)
		}
		claims := checkJWT(t, stringAt(t, "token", tok["token"]))
		if e, ok := claims["exp"].(float64); !ok || int64(e) != exp.Unix() {
			t.Errorf("token exp claim %v, want expirationTime %d", claims["exp"], exp.Unix())
		}
	})

	t.Run("example2 recording configuration", func(t *testing.T) {
		var out map[string]any
		awsJSON(t, env, p.URL, &out, seedExample2...)

		requireKeys(t, "output", out, "stage")
		if _, ok := out["participantTokens"]; ok {
			t.Errorf("output has participantTokens %v; the seed's example 2 asks for none", out["participantTokens"])
		}
		st := checkSeedStage(t, p.URL, out["stage"])
		requireKeys(t, "stage", st, "autoParticipantRecordingConfiguration")
		rec := objectAt(t, "autoParticipantRecordingConfiguration", st["autoParticipantRecordingConfiguration"])
		requireKeys(t, "autoParticipantRecordingConfiguration", rec, "mediaTypes", "storageConfigurationArn")
		if got := stringAt(t, "storageConfigurationArn", rec["storageConfigurationArn"]); got != seedStorageARN {
			t.Errorf("storageConfigurationArn = %q, want %q", got, seedStorageARN)
		}
		mt, ok := rec["mediaTypes"].([]any)
		if !ok || len(mt) != 1 || mt[0] != "AUDIO_VIDEO" {
			t.Errorf("mediaTypes = %#v, want [AUDIO_VIDEO]", rec["mediaTypes"])
		}
	})
}

// checkSeedStage asserts the seed's stage shape and returns the stage object.
func checkSeedStage(t *testing.T, baseURL string, v any) map[string]any {
	t.Helper()
	st := objectAt(t, "stage", v)
	requireKeys(t, "stage", st, "activeSessionId", "arn", "endpoints", "name", "tags")
	for k := range st {
		if !slices.Contains(stageMembers, k) {
			t.Errorf("stage has key %q, not a member of the model's Stage", k)
		}
	}
	arn := stringAt(t, "stage.arn", st["arn"])
	if !stageARNPattern.MatchString(arn) {
		t.Errorf("stage.arn %q does not match %s", arn, stageARNPattern)
	}
	if s := stringAt(t, "stage.activeSessionId", st["activeSessionId"]); s != "" {
		t.Errorf("idle stage activeSessionId = %q, want \"\"", s)
	}
	if n := stringAt(t, "stage.name", st["name"]); n != "stage1" {
		t.Errorf("stage.name = %q, want stage1", n)
	}
	if tags := objectAt(t, "stage.tags", st["tags"]); len(tags) != 0 {
		t.Errorf("stage.tags = %v, want {}", tags)
	}
	ep := objectAt(t, "stage.endpoints", st["endpoints"])
	requireKeys(t, "stage.endpoints", ep, "events", "rtmp", "rtmps", "whip")
	id := arn[strings.LastIndex(arn, "/")+1:]
	if w := stringAt(t, "endpoints.whip", ep["whip"]); w != baseURL+"/whip/"+id {
		t.Errorf("endpoints.whip = %q, want %q", w, baseURL+"/whip/"+id)
	}
	if e := stringAt(t, "endpoints.events", ep["events"]); !strings.HasPrefix(e, "ws://") {
		t.Errorf("endpoints.events = %q, want a ws:// URL", e)
	}
	if r := stringAt(t, "endpoints.rtmp", ep["rtmp"]); !strings.HasPrefix(r, "rtmp://") || !strings.HasSuffix(r, "/app/") {
		t.Errorf("endpoints.rtmp = %q, want rtmp://…/app/", r)
	}
	if r := stringAt(t, "endpoints.rtmps", ep["rtmps"]); !strings.HasPrefix(r, "rtmps://") || !strings.HasSuffix(r, "/app/") {
		t.Errorf("endpoints.rtmps = %q, want rtmps://…/app/", r)
	}
	return st
}

// checkJWT asserts tok is a JWT (three base64url parts, JSON header with alg ES384) and
// returns its claims.
func checkJWT(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d dot-separated parts, want 3 (a JWT): %q", len(parts), tok)
	}
	raw := make([][]byte, 3)
	for i, part := range parts {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil || len(b) == 0 {
			t.Fatalf("token part %d is not base64url: %v", i, err)
		}
		raw[i] = b
	}
	var header, claims map[string]any
	if err := json.Unmarshal(raw[0], &header); err != nil {
		t.Fatalf("token header is not JSON: %v (%s)", err, raw[0])
	}
	if header["alg"] != "ES384" {
		t.Errorf("token header alg = %v, want ES384", header["alg"])
	}
	if err := json.Unmarshal(raw[1], &claims); err != nil {
		t.Fatalf("token claims are not JSON: %v (%s)", err, raw[1])
	}
	if len(raw[2]) != 96 { // ES384: r||s, 48 bytes each
		t.Errorf("token signature is %d bytes, want 96 for ES384", len(raw[2]))
	}
	return claims
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s has no %q key: %v", what, k, m)
		}
	}
}

func objectAt(t *testing.T, what string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s = %#v, want a JSON object", what, v)
	}
	return m
}

func stringAt(t *testing.T, what string, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %#v, want a JSON string", what, v)
	}
	return s
}
