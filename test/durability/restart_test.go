package durability_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/footlight/footlight/internal/servertest"
)

// TestRestartKeepsEveryResource makes one of each resource, stops the server with SIGTERM,
// starts a new process on the same data dir and reads everything back: identical, and
// tokens are still signed with the same key.
func TestRestartKeepsEveryResource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p1 := servertest.StartBinary(t, dir)
	c := p1.Client()
	call := func(op string, in, out any) {
		t.Helper()
		if err := c.Call(ctx, op, in, out); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}

	var sc struct {
		StorageConfiguration storageConfig `json:"storageConfiguration"`
	}
	call("CreateStorageConfiguration", map[string]any{
		"name": "recordings",
		"s3":   map[string]string{"bucketName": "footlight-durability-recordings"},
		"tags": map[string]string{"team": "media"},
	}, &sc)
	scArn := sc.StorageConfiguration.Arn

	var ec struct {
		EncoderConfiguration map[string]any `json:"encoderConfiguration"`
	}
	call("CreateEncoderConfiguration", map[string]any{
		"name":  "full-hd",
		"video": map[string]any{"width": 1920, "height": 1080, "framerate": 60, "bitrate": 6000000},
		"tags":  map[string]string{"quality": "high"},
	}, &ec)
	ecArn, _ := ec.EncoderConfiguration["arn"].(string)

	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	var pk struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	call("ImportPublicKey", map[string]any{"publicKeyMaterial": keyPEM, "name": "customer-key", "tags": map[string]string{"issuer": "backend"}}, &pk)
	pkArn, _ := pk.PublicKey["arn"].(string)

	wantRecording := recording{
		StorageConfigurationArn:         scArn,
		MediaTypes:                      []string{"AUDIO_ONLY"},
		ThumbnailConfiguration:          &thumbnail{TargetIntervalSeconds: 30, Storage: []string{"LATEST"}, RecordingMode: "INTERVAL"},
		RecordingReconnectWindowSeconds: 15,
		HLSConfiguration:                &hls{TargetSegmentDurationSeconds: 4},
		RecordParticipantReplicas:       false,
	}
	var created struct {
		Stage             stage              `json:"stage"`
		ParticipantTokens []participantToken `json:"participantTokens"`
	}
	call("CreateStage", map[string]any{
		"name": "main-stage",
		"participantTokenConfigurations": []any{map[string]any{
			"userId": "alice", "duration": 60, "capabilities": []string{"PUBLISH"}, "attributes": map[string]string{"role": "host"},
		}},
		"tags":                                  map[string]string{"env": "test", "owner": "durability"},
		"autoParticipantRecordingConfiguration": wantRecording,
	}, &created)
	stageArn := created.Stage.Arn
	if len(created.ParticipantTokens) != 1 {
		t.Fatalf("CreateStage returned %d participant tokens, want 1", len(created.ParticipantTokens))
	}
	// A second stage, without recording, so ListStages has an order to keep.
	var second struct {
		Stage stage `json:"stage"`
	}
	call("CreateStage", map[string]any{"name": "side-stage"}, &second)

	if err := tagResource(ctx, c, stageArn, map[string]string{"tier": "gold"}); err != nil {
		t.Fatalf("TagResource stage: %v", err)
	}
	if err := tagResource(ctx, c, scArn, map[string]string{"cost-center": "42"}); err != nil {
		t.Fatalf("TagResource storage configuration: %v", err)
	}
	var pt struct {
		ParticipantToken participantToken `json:"participantToken"`
	}
	call("CreateParticipantToken", map[string]any{"stageArn": stageArn, "userId": "bob", "capabilities": []string{"SUBSCRIBE"}}, &pt)
	tokenBefore := pt.ParticipantToken.Token

	arns := map[string]string{"stage": stageArn, "storage configuration": scArn, "encoder configuration": ecArn, "public key": pkArn}
	before := takeSnapshot(t, p1, stageArn, arns)

	// What was written is what the first process reads back (so "identical" below is not
	// two empty things agreeing).
	if st := before.stage; st.Name != "main-stage" ||
		!reflect.DeepEqual(st.Tags, map[string]string{"env": "test", "owner": "durability", "tier": "gold"}) ||
		st.Recording == nil || !reflect.DeepEqual(*st.Recording, wantRecording) {
		t.Fatalf("GetStage before the restart: %+v (recording %+v)", st, st.Recording)
	}
	if got := before.tags["storage configuration"]; !reflect.DeepEqual(got, map[string]string{"team": "media", "cost-center": "42"}) {
		t.Fatalf("storage configuration tags before the restart: %v", got)
	}
	if got, _ := before.gets["GetPublicKey"]["publicKeyMaterial"].(string); strings.TrimSpace(got) != strings.TrimSpace(keyPEM) {
		t.Fatalf("public key material before the restart: %q", got)
	}
	if got := before.gets["GetEncoderConfiguration"]["video"]; !reflect.DeepEqual(got, map[string]any{"width": 1920.0, "height": 1080.0, "framerate": 60.0, "bitrate": 6000000.0}) {
		t.Fatalf("encoder video before the restart: %v", got)
	}
	if n := len(before.lists["ListStages"]); n != 2 {
		t.Fatalf("ListStages before the restart: %d stages, want 2", n)
	}
	keyFile := filepath.Join(dir, "token-signing-key.pem")
	keyBefore, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("token signing key before the restart: %v", err)
	}

	if err := p1.Kill(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, p1.StderrText())
	}
	if code := p1.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, p1.StderrText())
	}

	p2 := servertest.StartBinary(t, dir)
	after := takeSnapshot(t, p2, stageArn, arns)

	// GetStage: everything identical; endpoints are those of the new process's URL (the port
	// is new) for the same stage id.
	for _, s := range []struct {
		name string
		p    *servertest.Process
		snap snapshot
	}{{"before", p1, before}, {"after", p2, after}} {
		if err := checkComplete(s.snap.stage, stageArn, s.p.URL); err != nil {
			t.Errorf("%s the restart: %v", s.name, err)
		}
	}
	if !reflect.DeepEqual(before.stageRaw, after.stageRaw) {
		t.Errorf("GetStage changed across the restart (endpoints aside):\nbefore %v\nafter  %v", before.stageRaw, after.stageRaw)
	}
	for op, b := range before.gets {
		if a := after.gets[op]; !reflect.DeepEqual(b, a) {
			t.Errorf("%s changed across the restart:\nbefore %v\nafter  %v", op, b, a)
		}
	}
	for op, b := range before.lists {
		if a := after.lists[op]; !reflect.DeepEqual(b, a) {
			t.Errorf("%s changed across the restart:\nbefore %v\nafter  %v", op, b, a)
		}
	}
	for what, b := range before.tags {
		if a := after.tags[what]; !reflect.DeepEqual(b, a) {
			t.Errorf("ListTagsForResource of the %s changed across the restart: before %v, after %v", what, b, a)
		}
	}

	// The token signing key persisted: same file, same kid, and a token minted before the
	// restart verifies with the key the new process loaded.
	keyAfter, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("token signing key after the restart: %v", err)
	}
	if string(keyBefore) != string(keyAfter) {
		t.Errorf("token-signing-key.pem changed across the restart")
	}
	c2 := p2.Client()
	if err := c2.Call(ctx, "CreateParticipantToken", map[string]any{"stageArn": stageArn, "userId": "carol"}, &pt); err != nil {
		t.Fatalf("CreateParticipantToken after the restart: %v", err)
	}
	tokenAfter := pt.ParticipantToken.Token
	hb, ha := jwtHeader(t, tokenBefore), jwtHeader(t, tokenAfter)
	if kid, _ := hb["kid"].(string); kid == "" || hb["kid"] != ha["kid"] || hb["alg"] != "ES384" || ha["alg"] != "ES384" {
		t.Errorf("token header before the restart %v, after %v: want the same non-empty kid, alg ES384", hb, ha)
	}
	if hc := jwtHeader(t, created.ParticipantTokens[0].Token); hc["kid"] != ha["kid"] {
		t.Errorf("CreateStage's token kid %v, token minted after the restart %v", hc["kid"], ha["kid"])
	}
	block, _ := pem.Decode(keyAfter)
	if block == nil {
		t.Fatalf("token-signing-key.pem holds no PEM block")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("token-signing-key.pem: %v", err)
	}
	signer, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("token-signing-key.pem holds a %T, want an ECDSA key", priv)
	}
	for what, tok := range map[string]string{"before": tokenBefore, "after": tokenAfter} {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &signer.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES384"}))
		if err != nil {
			t.Errorf("token minted %s the restart does not verify with the persisted key: %v", what, err)
		} else if claims["resource"] != stageArn {
			t.Errorf("token minted %s the restart: resource %v, want %s", what, claims["resource"], stageArn)
		}
	}
	// The environment gave the credentials, so the server keeps no credentials.json; the
	// second process accepting the first's signatures is what shows they were kept.
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); err == nil {
		t.Logf("note: credentials.json exists although credentials came from the environment")
	}
}

// snapshot is everything a client can read about the resources of the restart test.
type snapshot struct {
	stage    stage
	stageRaw map[string]any            // GetStage's stage without its endpoints
	gets     map[string]map[string]any // Get* of the configurations and key, by operation
	lists    map[string][]any          // every List* operation, all pages
	tags     map[string]map[string]string
}

func takeSnapshot(t *testing.T, p *servertest.Process, stageArn string, arns map[string]string) snapshot {
	t.Helper()
	ctx := context.Background()
	c := p.Client()
	s := snapshot{gets: map[string]map[string]any{}, lists: map[string][]any{}, tags: map[string]map[string]string{}}

	var raw struct {
		Stage json.RawMessage `json:"stage"`
	}
	if err := c.Call(ctx, "GetStage", map[string]string{"arn": stageArn}, &raw); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if err := json.Unmarshal(raw.Stage, &s.stage); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if err := json.Unmarshal(raw.Stage, &s.stageRaw); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	delete(s.stageRaw, "endpoints") // checked against the process's URL instead

	for op, member := range map[string]string{
		"GetStorageConfiguration": "storage configuration",
		"GetEncoderConfiguration": "encoder configuration",
		"GetPublicKey":            "public key",
	} {
		var out map[string]map[string]any
		if err := c.Call(ctx, op, map[string]string{"arn": arns[member]}, &out); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		for _, v := range out { // the one member: storageConfiguration, ...
			s.gets[op] = v
		}
		if s.gets[op]["arn"] != arns[member] {
			t.Fatalf("%s: reply %v", op, out)
		}
	}
	for op, member := range map[string]string{
		"ListStages":                "stages",
		"ListStorageConfigurations": "storageConfigurations",
		"ListEncoderConfigurations": "encoderConfigurations",
		"ListPublicKeys":            "publicKeys",
	} {
		items, err := listAll(ctx, c, op, member, 10)
		if err != nil {
			t.Fatal(err)
		}
		list, err := decodeAll[any](items)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		s.lists[op] = list
	}
	for what, resourceArn := range arns {
		tags, err := listTags(ctx, c, resourceArn)
		if err != nil {
			t.Fatal(err)
		}
		s.tags[what] = tags
	}
	return s
}
