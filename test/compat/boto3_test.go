package compat_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// clientError is how a round script reports an error a call raised.
type clientError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
	Class   string `json:"class"` // boto3: the exception class; modeled errors get their own
}

type boto3Token struct {
	ParticipantID      string            `json:"participantId"`
	UserID             string            `json:"userId"`
	Duration           int               `json:"duration"`
	Capabilities       []string          `json:"capabilities"`
	Attributes         map[string]string `json:"attributes"`
	Token              string            `json:"token"`
	ExpirationTimeType string            `json:"expirationTimeType"`
	ExpirationTime     string            `json:"expirationTime"`
}

type boto3Storage struct {
	Arn  string            `json:"arn"`
	Name string            `json:"name"`
	S3   map[string]string `json:"s3"`
	Tags map[string]string `json:"tags"`
}

type boto3Encoder struct {
	Arn   string             `json:"arn"`
	Name  string             `json:"name"`
	Video map[string]float64 `json:"video"`
	Tags  map[string]string  `json:"tags"`
}

// boto3Round is what boto3_round.py prints.
type boto3Round struct {
	Boto3, Botocore string
	Create          struct {
		Arn       string            `json:"arn"`
		Name      string            `json:"name"`
		Tags      map[string]string `json:"tags"`
		Endpoints map[string]string `json:"endpoints"`
		Tokens    []boto3Token      `json:"tokens"`
		RequestID string            `json:"requestId"`
	} `json:"create"`
	Get struct {
		Arn             string            `json:"arn"`
		Name            string            `json:"name"`
		Tags            map[string]string `json:"tags"`
		ActiveSessionID *string           `json:"activeSessionId"`
	} `json:"get"`
	Update struct {
		Name                    string   `json:"name"`
		StorageConfigurationArn string   `json:"storageConfigurationArn"`
		MediaTypes              []string `json:"mediaTypes"`
	} `json:"update"`
	DeleteStorageInUse clientError `json:"deleteStorageInUse"`
	ListStages         []struct {
		Arn  string `json:"arn"`
		Name string `json:"name"`
	} `json:"listStages"`
	TagsAfterTag     map[string]string `json:"tagsAfterTag"`
	TagsAfterUntag   map[string]string `json:"tagsAfterUntag"`
	ParticipantToken boto3Token        `json:"participantToken"`
	Storage          struct {
		Created           boto3Storage `json:"created"`
		Got               boto3Storage `json:"got"`
		Listed            []string     `json:"listed"`
		AfterDelete       clientError  `json:"afterDelete"`
		ListedAfterDelete []string     `json:"listedAfterDelete"`
	} `json:"storage"`
	Encoder struct {
		Created           boto3Encoder `json:"created"`
		Got               boto3Encoder `json:"got"`
		Listed            []string     `json:"listed"`
		AfterDelete       clientError  `json:"afterDelete"`
		ListedAfterDelete []string     `json:"listedAfterDelete"`
	} `json:"encoder"`
	GetAfterDelete  clientError `json:"getAfterDelete"`
	ModeledNotFound bool        `json:"modeledNotFound"`
	WrongSecret     clientError `json:"wrongSecret"`
	ShortArn        clientError `json:"shortArn"`
}

// TestBoto3Round runs boto3_round.py (boto3.client('ivs-realtime', endpoint_url=...)) and
// checks what boto3 handed back at each step.
func TestBoto3Round(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, nil)
	start := time.Now()
	var r boto3Round
	runClientScript(t, s.Env(), &r, "python3", "python3 -m pip install 'boto3>=1.34'", "boto3_round.py")
	end := time.Now()
	t.Logf("boto3 %s, botocore %s", r.Boto3, r.Botocore)

	arn := r.Create.Arn
	if !stageARNPattern.MatchString(arn) || r.Create.Name != "boto-stage" || !maps.Equal(r.Create.Tags, map[string]string{"team": "video"}) {
		t.Errorf("create_stage = %q %q %v", arn, r.Create.Name, r.Create.Tags)
	}
	if want := s.URL + "/whip/" + arn[strings.LastIndex(arn, "/")+1:]; r.Create.Endpoints["whip"] != want {
		t.Errorf("create_stage endpoints.whip = %q, want %q", r.Create.Endpoints["whip"], want)
	}
	if r.Create.RequestID == "" {
		t.Errorf("create_stage: ResponseMetadata.RequestId is empty (no x-amzn-RequestId header)")
	}
	if len(r.Create.Tokens) != 1 {
		t.Fatalf("create_stage returned %d participant tokens, want 1", len(r.Create.Tokens))
	}
	checkBoto3Token(t, "create_stage token", r.Create.Tokens[0], boto3Token{UserID: "bob", Duration: 60, Capabilities: []string{"SUBSCRIBE"}, Attributes: map[string]string{"seat": "12"}}, start, end)

	if r.Get.Arn != arn || r.Get.Name != "boto-stage" || !maps.Equal(r.Get.Tags, r.Create.Tags) {
		t.Errorf("get_stage = %+v, want the created stage", r.Get)
	}
	if r.Get.ActiveSessionID == nil || *r.Get.ActiveSessionID != "" {
		t.Errorf("get_stage activeSessionId = %v, want \"\" for an idle stage", r.Get.ActiveSessionID)
	}

	if u := r.Update; u.Name != "boto-renamed" || u.StorageConfigurationArn != r.Storage.Created.Arn || !slices.Equal(u.MediaTypes, []string{"AUDIO_ONLY"}) {
		t.Errorf("update_stage = %+v, want boto-renamed recording AUDIO_ONLY to %s", u, r.Storage.Created.Arn)
	}
	checkClientError(t, "delete_storage_configuration in use", r.DeleteStorageInUse, "ConflictException", 409)

	found := false
	for _, st := range r.ListStages {
		found = found || (st.Arn == arn && st.Name == "boto-renamed")
	}
	if !found {
		t.Errorf("list_stages = %+v, want %s named boto-renamed", r.ListStages, arn)
	}

	if want := map[string]string{"team": "video", "env": "test", "a b": "c d", "x/y+z=ü": "1"}; !maps.Equal(r.TagsAfterTag, want) {
		t.Errorf("list_tags_for_resource after tag_resource = %v, want %v", r.TagsAfterTag, want)
	}
	if want := map[string]string{"env": "test"}; !maps.Equal(r.TagsAfterUntag, want) {
		t.Errorf("list_tags_for_resource after untag_resource = %v, want %v", r.TagsAfterUntag, want)
	}

	checkBoto3Token(t, "create_participant_token", r.ParticipantToken, boto3Token{UserID: "carol", Duration: 720, Capabilities: []string{"PUBLISH", "SUBSCRIBE"}, Attributes: map[string]string{"role": "host"}}, start, end)

	sc := r.Storage
	if c := sc.Created; !strings.Contains(c.Arn, ":storage-configuration/") || c.Name != "boto-storage" || c.S3["bucketName"] != "boto-bucket" || !maps.Equal(c.Tags, map[string]string{"k": "v"}) {
		t.Errorf("create_storage_configuration = %+v", c)
	}
	if sc.Got.Arn != sc.Created.Arn || sc.Got.Name != sc.Created.Name || !maps.Equal(sc.Got.S3, sc.Created.S3) || !maps.Equal(sc.Got.Tags, sc.Created.Tags) {
		t.Errorf("get_storage_configuration = %+v, want %+v", sc.Got, sc.Created)
	}
	if !slices.Contains(sc.Listed, sc.Created.Arn) || slices.Contains(sc.ListedAfterDelete, sc.Created.Arn) {
		t.Errorf("list_storage_configurations before/after delete = %v / %v", sc.Listed, sc.ListedAfterDelete)
	}
	checkClientError(t, "get_storage_configuration after delete", sc.AfterDelete, "ResourceNotFoundException", 404)

	ec := r.Encoder
	wantVideo := map[string]float64{"width": 1080, "height": 1920, "framerate": 24, "bitrate": 4000000}
	if c := ec.Created; !strings.Contains(c.Arn, ":encoder-configuration/") || c.Name != "boto-encoder" || !maps.Equal(c.Video, wantVideo) {
		t.Errorf("create_encoder_configuration = %+v, want video %v", c, wantVideo)
	}
	if ec.Got.Arn != ec.Created.Arn || ec.Got.Name != ec.Created.Name || !maps.Equal(ec.Got.Video, ec.Created.Video) {
		t.Errorf("get_encoder_configuration = %+v, want %+v", ec.Got, ec.Created)
	}
	if !slices.Contains(ec.Listed, ec.Created.Arn) || slices.Contains(ec.ListedAfterDelete, ec.Created.Arn) {
		t.Errorf("list_encoder_configurations before/after delete = %v / %v", ec.Listed, ec.ListedAfterDelete)
	}
	checkClientError(t, "get_encoder_configuration after delete", ec.AfterDelete, "ResourceNotFoundException", 404)

	checkClientError(t, "get_stage after delete_stage", r.GetAfterDelete, "ResourceNotFoundException", 404)
	if !r.ModeledNotFound {
		t.Errorf("get_stage after delete_stage did not raise client.exceptions.ResourceNotFoundException")
	}
	checkClientError(t, "list_stages with a wrong secret", r.WrongSecret, "InvalidSignatureException", 403)
	checkClientError(t, "get_stage(arn='x') without client-side validation", r.ShortArn, "ValidationException", 400)
	if !strings.Contains(r.ShortArn.Message, "'arn'") {
		t.Errorf("the ValidationException message does not name the member arn: %q", r.ShortArn.Message)
	}
}

// checkBoto3Token compares a token with want's userId, duration, capabilities and attributes,
// and checks boto3 parsed expirationTime into a datetime that is duration minutes after the
// call (issued between start and end).
func checkBoto3Token(t *testing.T, what string, got, want boto3Token, start, end time.Time) {
	t.Helper()
	if got.UserID != want.UserID || got.Duration != want.Duration || !slices.Equal(got.Capabilities, want.Capabilities) || !maps.Equal(got.Attributes, want.Attributes) {
		t.Errorf("%s = user %q, %d min, %v, %v; want %q, %d min, %v, %v", what, got.UserID, got.Duration, got.Capabilities, got.Attributes,
			want.UserID, want.Duration, want.Capabilities, want.Attributes)
	}
	if !participantIDPattern.MatchString(got.ParticipantID) {
		t.Errorf("%s participantId %q is not 12 alphanumerics", what, got.ParticipantID)
	}
	checkJWT(t, got.Token)
	if got.ExpirationTimeType != "datetime" {
		t.Errorf("%s: boto3 gave expirationTime as %s, want a parsed datetime", what, got.ExpirationTimeType)
	}
	exp, err := time.Parse(time.RFC3339, got.ExpirationTime)
	if err != nil {
		t.Fatalf("%s expirationTime %q: %v", what, got.ExpirationTime, err)
	}
	d := time.Duration(want.Duration) * time.Minute
	if lo, hi := start.Add(d-2*time.Minute), end.Add(d+2*time.Minute); exp.Before(lo) || exp.After(hi) {
		t.Errorf("%s expirationTime %v, want %v after the call (%v..%v)", what, exp, d, lo, hi)
	}
}

func checkClientError(t *testing.T, what string, got clientError, code string, status int) {
	t.Helper()
	if got.Code != code || got.Status != status {
		t.Errorf("%s raised %+v, want %s (HTTP %d)", what, got, code, status)
	}
}
