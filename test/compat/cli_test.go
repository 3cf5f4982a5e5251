package compat_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/footlight/footlight/internal/servertest"
)

// What the CLI prints, decoded the way a script using `aws ... | jq` reads it.
type (
	cliStage struct {
		Arn             string            `json:"arn"`
		Name            string            `json:"name"`
		ActiveSessionID *string           `json:"activeSessionId"`
		Tags            map[string]string `json:"tags"`
		Recording       *struct {
			StorageConfigurationArn string   `json:"storageConfigurationArn"`
			MediaTypes              []string `json:"mediaTypes"`
			ThumbnailConfiguration  struct {
				TargetIntervalSeconds int      `json:"targetIntervalSeconds"`
				Storage               []string `json:"storage"`
				RecordingMode         string   `json:"recordingMode"`
			} `json:"thumbnailConfiguration"`
		} `json:"autoParticipantRecordingConfiguration"`
		Endpoints map[string]string `json:"endpoints"`
	}
	cliStageOut struct {
		Stage cliStage `json:"stage"`
	}
	cliListStages struct {
		Stages    []cliStage `json:"stages"`
		NextToken *string    `json:"nextToken"`
	}
	cliTags struct {
		Tags map[string]string `json:"tags"`
	}
	cliStorageConfiguration struct {
		Arn  string                      `json:"arn"`
		Name string                      `json:"name"`
		S3   struct{ BucketName string } `json:"s3"`
		Tags map[string]string           `json:"tags"`
	}
	cliEncoderConfiguration struct {
		Arn   string `json:"arn"`
		Name  string `json:"name"`
		Video *struct {
			Width     int     `json:"width"`
			Height    int     `json:"height"`
			Framerate float64 `json:"framerate"`
			Bitrate   int     `json:"bitrate"`
		} `json:"video"`
		Tags map[string]string `json:"tags"`
	}
	cliPublicKey struct {
		Arn               string            `json:"arn"`
		Name              string            `json:"name"`
		PublicKeyMaterial string            `json:"publicKeyMaterial"`
		Fingerprint       string            `json:"fingerprint"`
		Tags              map[string]string `json:"tags"`
	}
)

// cli runs the aws CLI against an in-process server.
type cli struct {
	s   *servertest.Server
	env []string
}

func newCLI(t *testing.T) cli {
	t.Helper()
	s := servertest.Start(t, nil)
	return cli{s: s, env: s.Env()}
}

// do runs `aws ivs-realtime args...`, requires success and decodes the output into out.
func (c cli) do(t *testing.T, out any, args ...string) {
	t.Helper()
	awsJSON(t, c.env, c.s.URL, out, append([]string{"ivs-realtime"}, args...)...)
}

// fails runs `aws ivs-realtime args...` and requires the service error code; it returns stderr.
func (c cli) fails(t *testing.T, code string, args ...string) string {
	t.Helper()
	return awsFails(t, c.env, c.s.URL, code, append([]string{"ivs-realtime"}, args...)...)
}

func TestCLIStageGetUpdateDelete(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var created cliStageOut
	c.do(t, &created, "create-stage", "--name", "show", "--tags", "team=video,env=test")
	arn := created.Stage.Arn

	var got cliStageOut
	c.do(t, &got, "get-stage", "--arn", arn)
	if got.Stage.Arn != arn || got.Stage.Name != "show" {
		t.Errorf("get-stage = %q %q, want %q show", got.Stage.Arn, got.Stage.Name, arn)
	}
	if want := map[string]string{"team": "video", "env": "test"}; !maps.Equal(got.Stage.Tags, want) {
		t.Errorf("get-stage tags = %v, want %v", got.Stage.Tags, want)
	}
	if got.Stage.ActiveSessionID == nil || *got.Stage.ActiveSessionID != "" {
		t.Errorf("idle stage activeSessionId = %v, want \"\"", got.Stage.ActiveSessionID)
	}
	for _, k := range []string{"events", "whip"} {
		if got.Stage.Endpoints[k] == "" {
			t.Errorf("get-stage endpoints.%s is empty: %v", k, got.Stage.Endpoints)
		}
	}

	var sc struct{ StorageConfiguration cliStorageConfiguration }
	c.do(t, &sc, "create-storage-configuration", "--name", "rec", "--s3", "bucketName=recordings-bucket")

	var updated cliStageOut
	c.do(t, &updated, "update-stage", "--arn", arn, "--name", "show-renamed",
		"--auto-participant-recording-configuration",
		`{"storageConfigurationArn":"`+sc.StorageConfiguration.Arn+`","mediaTypes":["AUDIO_ONLY"],"thumbnailConfiguration":{"recordingMode":"INTERVAL","targetIntervalSeconds":30}}`)
	checkUpdated := func(what string, st cliStage) {
		t.Helper()
		if st.Arn != arn || st.Name != "show-renamed" {
			t.Errorf("%s: stage %q named %q, want %q show-renamed", what, st.Arn, st.Name, arn)
		}
		r := st.Recording
		if r == nil {
			t.Fatalf("%s: no autoParticipantRecordingConfiguration", what)
		}
		if r.StorageConfigurationArn != sc.StorageConfiguration.Arn || !slices.Equal(r.MediaTypes, []string{"AUDIO_ONLY"}) {
			t.Errorf("%s: recording to %q %v, want %q [AUDIO_ONLY]", what, r.StorageConfigurationArn, r.MediaTypes, sc.StorageConfiguration.Arn)
		}
		if th := r.ThumbnailConfiguration; th.RecordingMode != "INTERVAL" || th.TargetIntervalSeconds != 30 {
			t.Errorf("%s: thumbnails %+v, want INTERVAL every 30 s", what, th)
		}
		if !maps.Equal(st.Tags, map[string]string{"team": "video", "env": "test"}) {
			t.Errorf("%s: update changed the tags: %v", what, st.Tags)
		}
	}
	checkUpdated("update-stage", updated.Stage)
	c.do(t, &got, "get-stage", "--arn", arn)
	checkUpdated("get-stage after update", got.Stage)

	c.do(t, nil, "delete-stage", "--arn", arn)
	c.fails(t, "ResourceNotFoundException", "get-stage", "--arn", arn)
}

func TestCLIListStagesPaging(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	want := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		var out cliStageOut
		c.do(t, &out, "create-stage", "--name", name)
		want[out.Stage.Arn] = true
	}
	// ListStages has no CLI paginator: the user follows nextToken with --next-token.
	seen := map[string]int{}
	args := []string{"list-stages", "--max-results", "1"}
	for pages := 1; ; pages++ {
		if pages > 10 {
			t.Fatalf("list-stages did not end after 10 pages of 1 (3 stages): %v", seen)
		}
		var page cliListStages
		c.do(t, &page, args...)
		if page.Stages == nil {
			t.Fatalf("page %d has no stages list", pages)
		}
		if len(page.Stages) > 1 {
			t.Fatalf("page %d has %d stages, want at most --max-results 1", pages, len(page.Stages))
		}
		for _, st := range page.Stages {
			seen[st.Arn]++
			if st.ActiveSessionID == nil || st.Tags == nil {
				t.Errorf("stage summary %+v lacks activeSessionId or tags", st)
			}
		}
		if page.NextToken == nil || *page.NextToken == "" {
			if pages != 3 { // the page with the last stage carries no nextToken
				t.Errorf("list-stages ended after %d pages of 1, want 3", pages)
			}
			break
		}
		args = []string{"list-stages", "--max-results", "1", "--next-token", *page.NextToken}
	}
	if len(seen) != len(want) {
		t.Errorf("list-stages saw %v, want each of %v", seen, want)
	}
	for arn, n := range seen {
		if !want[arn] || n != 1 {
			t.Errorf("list-stages returned %s %d times; want each created stage once", arn, n)
		}
	}
}

func TestCLITags(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var created cliStageOut
	c.do(t, &created, "create-stage", "--name", "tagged", "--tags", "keep=1")
	arn := created.Stage.Arn

	// The CLI percent-encodes the ARN into the /tags/{resourceArn} path.
	c.do(t, nil, "tag-resource", "--resource-arn", arn, "--tags", `{"a":"1","b c":"two words","keep":"2"}`)
	var tags cliTags
	c.do(t, &tags, "list-tags-for-resource", "--resource-arn", arn)
	if want := map[string]string{"a": "1", "b c": "two words", "keep": "2"}; !maps.Equal(tags.Tags, want) {
		t.Errorf("after tag-resource: %v, want %v", tags.Tags, want)
	}

	c.do(t, nil, "untag-resource", "--resource-arn", arn, "--tag-keys", "a", "b c", "not-there")
	c.do(t, &tags, "list-tags-for-resource", "--resource-arn", arn)
	if want := map[string]string{"keep": "2"}; !maps.Equal(tags.Tags, want) {
		t.Errorf("after untag-resource: %v, want %v", tags.Tags, want)
	}
	var got cliStageOut
	c.do(t, &got, "get-stage", "--arn", arn)
	if !maps.Equal(got.Stage.Tags, tags.Tags) {
		t.Errorf("get-stage tags %v differ from list-tags-for-resource %v", got.Stage.Tags, tags.Tags)
	}

	missing := strings.TrimSuffix(arn, arn[len(arn)-12:]) + "AAAAAAAAAAAA"
	c.fails(t, "ResourceNotFoundException", "list-tags-for-resource", "--resource-arn", missing)
	c.fails(t, "ResourceNotFoundException", "tag-resource", "--resource-arn", missing, "--tags", "a=1")
}

func TestCLIStorageConfiguration(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var created struct{ StorageConfiguration cliStorageConfiguration }
	c.do(t, &created, "create-storage-configuration", "--name", "archive", "--s3", "bucketName=my-recordings", "--tags", "owner=ops")
	sc := created.StorageConfiguration
	if !strings.Contains(sc.Arn, ":storage-configuration/") || sc.Name != "archive" || sc.S3.BucketName != "my-recordings" {
		t.Fatalf("create-storage-configuration = %+v", sc)
	}

	var got struct{ StorageConfiguration cliStorageConfiguration }
	c.do(t, &got, "get-storage-configuration", "--arn", sc.Arn)
	if got.StorageConfiguration.Arn != sc.Arn || got.StorageConfiguration.S3.BucketName != "my-recordings" ||
		!maps.Equal(got.StorageConfiguration.Tags, map[string]string{"owner": "ops"}) {
		t.Errorf("get-storage-configuration = %+v, want %+v", got.StorageConfiguration, sc)
	}

	var list struct {
		StorageConfigurations []cliStorageConfiguration
	}
	c.do(t, &list, "list-storage-configurations")
	if len(list.StorageConfigurations) != 1 || list.StorageConfigurations[0].Arn != sc.Arn || list.StorageConfigurations[0].S3.BucketName != "my-recordings" {
		t.Errorf("list-storage-configurations = %+v, want just %s", list.StorageConfigurations, sc.Arn)
	}

	// Tag operations take any taggable ARN, percent-encoded by the CLI.
	var tags cliTags
	c.do(t, &tags, "list-tags-for-resource", "--resource-arn", sc.Arn)
	if !maps.Equal(tags.Tags, map[string]string{"owner": "ops"}) {
		t.Errorf("list-tags-for-resource on the storage configuration = %v", tags.Tags)
	}

	c.do(t, nil, "delete-storage-configuration", "--arn", sc.Arn)
	c.fails(t, "ResourceNotFoundException", "get-storage-configuration", "--arn", sc.Arn)
	c.do(t, &list, "list-storage-configurations")
	if len(list.StorageConfigurations) != 0 {
		t.Errorf("list after delete = %+v, want []", list.StorageConfigurations)
	}
}

func TestCLIDeleteStorageConfigurationInUse(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var sc struct{ StorageConfiguration cliStorageConfiguration }
	c.do(t, &sc, "create-storage-configuration", "--s3", "bucketName=in-use")
	scArn := sc.StorageConfiguration.Arn
	var st cliStageOut
	c.do(t, &st, "create-stage", "--name", "recorded", "--auto-participant-recording-configuration", "storageConfigurationArn="+scArn)

	stderr := c.fails(t, "ConflictException", "delete-storage-configuration", "--arn", scArn)
	if !strings.Contains(stderr, "DeleteStorageConfiguration") {
		t.Errorf("stderr does not name the operation: %s", stderr)
	}
	var got struct{ StorageConfiguration cliStorageConfiguration }
	c.do(t, &got, "get-storage-configuration", "--arn", scArn) // still there

	// Once the stage stops recording to it, it can go.
	c.do(t, &st, "update-stage", "--arn", st.Stage.Arn, "--auto-participant-recording-configuration", "storageConfigurationArn=")
	if st.Stage.Recording == nil || st.Stage.Recording.StorageConfigurationArn != "" {
		t.Fatalf("update-stage storageConfigurationArn=\"\" left %+v", st.Stage.Recording)
	}
	c.do(t, nil, "delete-storage-configuration", "--arn", scArn)
}

func TestCLIEncoderConfiguration(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var custom, dflt struct{ EncoderConfiguration cliEncoderConfiguration }
	c.do(t, &custom, "create-encoder-configuration", "--name", "hd", "--video", "width=1920,height=1080,framerate=60,bitrate=6000000", "--tags", "tier=hd")
	c.do(t, &dflt, "create-encoder-configuration", "--name", "default")
	ec := custom.EncoderConfiguration
	if v := ec.Video; !strings.Contains(ec.Arn, ":encoder-configuration/") || v == nil || v.Width != 1920 || v.Height != 1080 || v.Framerate != 60 || v.Bitrate != 6000000 {
		t.Fatalf("create-encoder-configuration = %+v %+v", ec, ec.Video)
	}
	// The documented default: 1280x720, 2500 kbps, 30 fps.
	if v := dflt.EncoderConfiguration.Video; v == nil || v.Width != 1280 || v.Height != 720 || v.Framerate != 30 || v.Bitrate != 2500000 {
		t.Errorf("default video = %+v, want 1280x720 30 fps 2500000 bps", v)
	}

	var got struct{ EncoderConfiguration cliEncoderConfiguration }
	c.do(t, &got, "get-encoder-configuration", "--arn", ec.Arn)
	if got.EncoderConfiguration.Arn != ec.Arn || got.EncoderConfiguration.Name != "hd" || *got.EncoderConfiguration.Video != *ec.Video ||
		!maps.Equal(got.EncoderConfiguration.Tags, map[string]string{"tier": "hd"}) {
		t.Errorf("get-encoder-configuration = %+v, want %+v", got.EncoderConfiguration, ec)
	}

	var list struct{ EncoderConfigurations []cliEncoderConfiguration }
	c.do(t, &list, "list-encoder-configurations")
	var arns []string
	for _, c := range list.EncoderConfigurations {
		arns = append(arns, c.Arn)
	}
	want := []string{ec.Arn, dflt.EncoderConfiguration.Arn}
	slices.Sort(arns)
	slices.Sort(want)
	if !slices.Equal(arns, want) {
		t.Errorf("list-encoder-configurations = %v, want %v", arns, want)
	}

	c.do(t, nil, "delete-encoder-configuration", "--arn", ec.Arn)
	c.fails(t, "ResourceNotFoundException", "get-encoder-configuration", "--arn", ec.Arn)
	c.fails(t, "ResourceNotFoundException", "delete-encoder-configuration", "--arn", ec.Arn)
}

func TestCLIPublicKey(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	material := newP384PublicKeyPEM(t)

	var imported struct{ PublicKey cliPublicKey }
	c.do(t, &imported, "import-public-key", "--name", "signer", "--public-key-material", material, "--tags", "use=tokens")
	pk := imported.PublicKey
	if !strings.Contains(pk.Arn, ":public-key/") || pk.Name != "signer" || pk.Fingerprint == "" || pk.PublicKeyMaterial != material {
		t.Fatalf("import-public-key = %+v", pk)
	}

	var got struct{ PublicKey cliPublicKey }
	c.do(t, &got, "get-public-key", "--arn", pk.Arn)
	if g := got.PublicKey; g.Arn != pk.Arn || g.Name != "signer" || g.PublicKeyMaterial != material || g.Fingerprint != pk.Fingerprint ||
		!maps.Equal(g.Tags, map[string]string{"use": "tokens"}) {
		t.Errorf("get-public-key = %+v, want %+v", got.PublicKey, pk)
	}

	// The same key twice is a conflict.
	c.fails(t, "ConflictException", "import-public-key", "--public-key-material", material)

	var second struct{ PublicKey cliPublicKey }
	c.do(t, &second, "import-public-key", "--name", "backup", "--public-key-material", newP384PublicKeyPEM(t))

	// ListPublicKeys has a CLI paginator: with --page-size 1 the CLI follows nextToken itself
	// and prints both keys as one list.
	var list struct {
		PublicKeys []cliPublicKey
		NextToken  *string
	}
	c.do(t, &list, "list-public-keys", "--page-size", "1")
	var names []string
	for _, k := range list.PublicKeys {
		names = append(names, k.Arn+" "+k.Name)
	}
	slices.Sort(names)
	want := []string{pk.Arn + " signer", second.PublicKey.Arn + " backup"}
	slices.Sort(want)
	if !slices.Equal(names, want) || list.NextToken != nil {
		t.Errorf("list-public-keys --page-size 1 = %v (nextToken %v), want %v", names, list.NextToken, want)
	}

	c.do(t, nil, "delete-public-key", "--arn", pk.Arn)
	c.fails(t, "ResourceNotFoundException", "get-public-key", "--arn", pk.Arn)
	c.fails(t, "ResourceNotFoundException", "delete-public-key", "--arn", pk.Arn)
	c.do(t, &list, "list-public-keys")
	if len(list.PublicKeys) != 1 || list.PublicKeys[0].Arn != second.PublicKey.Arn {
		t.Errorf("list-public-keys after delete = %+v, want just %s", list.PublicKeys, second.PublicKey.Arn)
	}
}

// newP384PublicKeyPEM makes a fresh P-384 key pair, the curve IVS participant tokens are
// signed with, and returns its public key as PEM.
func newP384PublicKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)

	var st cliStageOut
	c.do(t, &st, "create-stage", "--name", "errs")
	missing := strings.TrimSuffix(st.Stage.Arn, st.Stage.Arn[len(st.Stage.Arn)-12:]) + "AAAAAAAAAAAA"

	t.Run("missing stage", func(t *testing.T) {
		stderr := c.fails(t, "ResourceNotFoundException", "get-stage", "--arn", missing)
		if !strings.Contains(stderr, "GetStage") {
			t.Errorf("stderr does not name GetStage: %s", stderr)
		}
	})

	t.Run("duration over the maximum", func(t *testing.T) {
		// botocore checks only the minimum, so 20161 reaches the server.
		stderr := c.fails(t, "ValidationException", "create-participant-token", "--stage-arn", st.Stage.Arn, "--duration", "20161")
		if !strings.Contains(stderr, "'duration'") {
			t.Errorf("the validation message does not name duration: %s", stderr)
		}
		var tok struct {
			ParticipantToken struct {
				Duration int    `json:"duration"`
				Token    string `json:"token"`
			}
		}
		c.do(t, &tok, "create-participant-token", "--stage-arn", st.Stage.Arn, "--duration", "20160")
		if tok.ParticipantToken.Duration != 20160 || tok.ParticipantToken.Token == "" {
			t.Errorf("create-participant-token --duration 20160 = %+v", tok.ParticipantToken)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		env := withEnv(c.env, "AWS_SECRET_ACCESS_KEY=not-the-secret")
		res := runAWS(t, env, c.s.URL, "ivs-realtime", "get-stage", "--arn", st.Stage.Arn)
		if res.Code != cliServiceErrorExit || !strings.Contains(res.Stderr, "An error occurred (InvalidSignatureException)") {
			t.Errorf("want InvalidSignatureException, exit %d:\n%s", cliServiceErrorExit, res)
		}
	})
}
