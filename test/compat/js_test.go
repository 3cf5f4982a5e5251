package compat_test

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// jsSDKVersion is the @aws-sdk/client-ivs-realtime pinned in js/package.json and its lock.
const jsSDKVersion = "3.1058.0"

type jsToken struct {
	ParticipantID        string            `json:"participantId"`
	UserID               string            `json:"userId"`
	Duration             int               `json:"duration"`
	Capabilities         []string          `json:"capabilities"`
	Attributes           map[string]string `json:"attributes"`
	Token                string            `json:"token"`
	ExpirationTimeIsDate bool              `json:"expirationTimeIsDate"`
	ExpirationTime       string            `json:"expirationTime"`
}

type jsError struct {
	Name    string `json:"name"`
	Status  int    `json:"status"`
	Message string `json:"message"`
	Modeled bool   `json:"modeled"` // instanceof ResourceNotFoundException
}

type jsStageRef struct {
	Arn  string `json:"arn"`
	Name string `json:"name"`
}

// jsRound is what js/round.mjs prints.
type jsRound struct {
	SDKVersion string `json:"sdkVersion"`
	Create     struct {
		Arn       string            `json:"arn"`
		Name      string            `json:"name"`
		Tags      map[string]string `json:"tags"`
		Endpoints map[string]string `json:"endpoints"`
		Tokens    []jsToken         `json:"tokens"`
		RequestID string            `json:"requestId"`
	} `json:"create"`
	Get struct {
		Arn             string            `json:"arn"`
		Name            string            `json:"name"`
		Tags            map[string]string `json:"tags"`
		ActiveSessionID *string           `json:"activeSessionId"`
	} `json:"get"`
	Update           jsStageRef        `json:"update"`
	ListStages       []jsStageRef      `json:"listStages"`
	TagsAfterTag     map[string]string `json:"tagsAfterTag"`
	TagsAfterUntag   map[string]string `json:"tagsAfterUntag"`
	ParticipantToken jsToken           `json:"participantToken"`
	GetAfterDelete   jsError           `json:"getAfterDelete"`
	WrongSecret      jsError           `json:"wrongSecret"`
	Paginate         struct {
		Created []string   `json:"created"`
		Pages   [][]string `json:"pages"`
	} `json:"paginate"`
}

// TestJSSDKRound runs js/round.mjs with @aws-sdk/client-ivs-realtime (installed by `npm ci`
// in js/) and checks what the SDK handed back at each step.
func TestJSSDKRound(t *testing.T) {
	t.Parallel()
	requireJSSDK(t)
	s := servertest.Start(t, nil)
	start := time.Now()
	var r jsRound
	runClientScript(t, s.Env(), &r, "node", "apt-get install nodejs npm", "js/round.mjs")
	end := time.Now()

	if r.SDKVersion != jsSDKVersion {
		t.Errorf("round.mjs ran @aws-sdk/client-ivs-realtime %s, want %s: run npm ci in test/compat/js", r.SDKVersion, jsSDKVersion)
	}

	arn := r.Create.Arn
	if !stageARNPattern.MatchString(arn) || r.Create.Name != "js-stage" || !maps.Equal(r.Create.Tags, map[string]string{"team": "video"}) {
		t.Errorf("CreateStage = %q %q %v", arn, r.Create.Name, r.Create.Tags)
	}
	if want := s.URL + "/whip/" + arn[strings.LastIndex(arn, "/")+1:]; r.Create.Endpoints["whip"] != want {
		t.Errorf("CreateStage endpoints.whip = %q, want %q", r.Create.Endpoints["whip"], want)
	}
	if r.Create.RequestID == "" {
		t.Errorf("CreateStage: $metadata.requestId is empty (no x-amzn-RequestId header)")
	}
	if len(r.Create.Tokens) != 1 {
		t.Fatalf("CreateStage returned %d participant tokens, want 1", len(r.Create.Tokens))
	}
	checkJSToken(t, "CreateStage token", r.Create.Tokens[0], "dave", 720, []string{"PUBLISH"}, start, end)

	if r.Get.Arn != arn || r.Get.Name != "js-stage" || !maps.Equal(r.Get.Tags, r.Create.Tags) {
		t.Errorf("GetStage = %+v, want the created stage", r.Get)
	}
	if r.Get.ActiveSessionID == nil || *r.Get.ActiveSessionID != "" {
		t.Errorf("GetStage activeSessionId = %v, want \"\" for an idle stage", r.Get.ActiveSessionID)
	}
	if r.Update != (jsStageRef{Arn: arn, Name: "js-renamed"}) {
		t.Errorf("UpdateStage = %+v, want %s named js-renamed", r.Update, arn)
	}
	if !slices.Contains(r.ListStages, jsStageRef{Arn: arn, Name: "js-renamed"}) {
		t.Errorf("ListStages = %+v, want %s named js-renamed", r.ListStages, arn)
	}
	if want := map[string]string{"team": "video", "env": "test", "a b": "c d", "x/y+z=ü": "1"}; !maps.Equal(r.TagsAfterTag, want) {
		t.Errorf("ListTagsForResource after TagResource = %v, want %v", r.TagsAfterTag, want)
	}
	if want := map[string]string{"env": "test"}; !maps.Equal(r.TagsAfterUntag, want) {
		t.Errorf("ListTagsForResource after UntagResource = %v, want %v", r.TagsAfterUntag, want)
	}
	checkJSToken(t, "CreateParticipantToken", r.ParticipantToken, "erin", 90, []string{"PUBLISH", "SUBSCRIBE"}, start, end)

	if e := r.GetAfterDelete; e.Name != "ResourceNotFoundException" || e.Status != 404 || !e.Modeled {
		t.Errorf("GetStage after DeleteStage threw %+v, want a ResourceNotFoundException (404)", e)
	}
	if e := r.WrongSecret; e.Name != "InvalidSignatureException" || e.Status != 403 {
		t.Errorf("ListStages with a wrong secret threw %+v, want InvalidSignatureException (403)", e)
	}

	// paginateListStages, pageSize 2, over the 5 stages that exist then.
	p := r.Paginate
	if len(p.Created) != 5 {
		t.Fatalf("round.mjs created %d stages to page over, want 5", len(p.Created))
	}
	seen := map[string]int{}
	for i, page := range p.Pages {
		if len(page) > 2 {
			t.Errorf("page %d has %d stages, want at most pageSize 2", i, len(page))
		}
		for _, a := range page {
			seen[a]++
		}
	}
	if len(p.Pages) != 3 {
		t.Errorf("paginateListStages gave %d pages, want 3 for 5 stages at 2 per page: %v", len(p.Pages), p.Pages)
	}
	for _, a := range p.Created {
		if seen[a] != 1 {
			t.Errorf("paginateListStages saw %s %d times, want once", a, seen[a])
		}
	}
	if len(seen) != len(p.Created) {
		t.Errorf("paginateListStages saw %d stages, want the %d that exist: %v", len(seen), len(p.Created), p.Pages)
	}
}

// requireJSSDK fails t unless js/node_modules holds the pinned SDK.
func requireJSSDK(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("js/node_modules/@aws-sdk/client-ivs-realtime/package.json")
	if err != nil {
		t.Fatalf("the JS SDK is not installed (%v): run npm ci in test/compat/js (scripts/test.sh does)", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != jsSDKVersion {
		t.Fatalf("js/node_modules has @aws-sdk/client-ivs-realtime %q, want %s: run npm ci in test/compat/js", pkg.Version, jsSDKVersion)
	}
}

func checkJSToken(t *testing.T, what string, got jsToken, user string, minutes int, caps []string, start, end time.Time) {
	t.Helper()
	if got.UserID != user || got.Duration != minutes || !slices.Equal(got.Capabilities, caps) {
		t.Errorf("%s = user %q, %d min, %v; want %q, %d min, %v", what, got.UserID, got.Duration, got.Capabilities, user, minutes, caps)
	}
	if !participantIDPattern.MatchString(got.ParticipantID) {
		t.Errorf("%s participantId %q is not 12 alphanumerics", what, got.ParticipantID)
	}
	checkJWT(t, got.Token)
	if !got.ExpirationTimeIsDate {
		t.Errorf("%s: the SDK did not parse expirationTime into a Date: %q", what, got.ExpirationTime)
	}
	exp, err := time.Parse(time.RFC3339, got.ExpirationTime)
	if err != nil {
		t.Fatalf("%s expirationTime %q: %v", what, got.ExpirationTime, err)
	}
	d := time.Duration(minutes) * time.Minute
	if lo, hi := start.Add(d-2*time.Minute), end.Add(d+2*time.Minute); exp.Before(lo) || exp.After(hi) {
		t.Errorf("%s expirationTime %v, want %v after the call (%v..%v)", what, exp, d, lo, hi)
	}
}
