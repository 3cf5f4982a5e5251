// Package conformance_test checks the control plane against AWS's own service model of
// ivs-realtime (internal/awsmodel's embedded service-2.json) over the wire: every operation is
// routed, every constraint the model states is enforced with a ValidationException naming the
// member, the documented rules of SPEC §9 hold, and valid requests return every member the
// model marks required. The inputs are generated from the model, not listed by hand.
package conformance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/awsmodel"
	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/stage"
)

// issueOperations are the operations this conformance suite covers.
var issueOperations = []string{
	"CreateStage", "GetStage", "UpdateStage", "DeleteStage", "ListStages",
	"CreateParticipantToken",
	"TagResource", "UntagResource", "ListTagsForResource",
	"CreateStorageConfiguration", "GetStorageConfiguration", "ListStorageConfigurations", "DeleteStorageConfiguration",
	"CreateEncoderConfiguration", "GetEncoderConfiguration", "ListEncoderConfigurations", "DeleteEncoderConfiguration",
	"ImportPublicKey", "GetPublicKey", "ListPublicKeys", "DeletePublicKey",
	"DisconnectParticipant", "ListStageSessions", "GetStageSession",
	"ListParticipants", "GetParticipant", "ListParticipantEvents",
}

// listViolations logs every generated violation (CONFORMANCE_LIST=1 go test -v).
var listViolations = os.Getenv("CONFORMANCE_LIST") != ""

func loadModel(t testing.TB) *awsmodel.Model {
	t.Helper()
	m, err := awsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range issueOperations {
		if m.Operations[op] == nil {
			t.Fatalf("operation %s is not in the model", op)
		}
	}
	return m
}

// fixtures are real resources, one of each kind, for requests that need existing ARNs.
type fixtures struct {
	Stage, Storage, Encoder, PublicKey string
	Session, Participant               string // a participant that joined Stage, and its session
}

func newFixtures(t testing.TB, s *servertest.Server) fixtures {
	t.Helper()
	c := s.Client()
	ctx := context.Background()
	var f fixtures
	var st struct {
		Stage struct{ Arn string } `json:"stage"`
	}
	if err := c.Call(ctx, "CreateStage", map[string]any{"name": "fixture"}, &st); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	var sc struct {
		StorageConfiguration struct{ Arn string } `json:"storageConfiguration"`
	}
	if err := c.Call(ctx, "CreateStorageConfiguration", map[string]any{"s3": map[string]any{"bucketName": "fixture-bucket"}}, &sc); err != nil {
		t.Fatalf("CreateStorageConfiguration: %v", err)
	}
	var ec struct {
		EncoderConfiguration struct{ Arn string } `json:"encoderConfiguration"`
	}
	if err := c.Call(ctx, "CreateEncoderConfiguration", map[string]any{"name": "fixture"}, &ec); err != nil {
		t.Fatalf("CreateEncoderConfiguration: %v", err)
	}
	var pk struct {
		PublicKey struct{ Arn string } `json:"publicKey"`
	}
	if err := c.Call(ctx, "ImportPublicKey", map[string]any{"publicKeyMaterial": newPublicKeyPEM(t)}, &pk); err != nil {
		t.Fatalf("ImportPublicKey: %v", err)
	}
	f = fixtures{Stage: st.Stage.Arn, Storage: sc.StorageConfiguration.Arn, Encoder: ec.EncoderConfiguration.Arn, PublicKey: pk.PublicKey.Arn}
	if f.Stage == "" || f.Storage == "" || f.Encoder == "" || f.PublicKey == "" {
		t.Fatalf("fixtures without ARNs: %+v", f)
	}
	// A participant joins the stage in process (as a media connection would), so sessions,
	// participants and events exist.
	f.Participant = "fixture-participant"
	conn, err := s.Node.Stages().Join(ctx, stage.JoinParams{StageArn: f.Stage, ParticipantID: f.Participant, Publish: true, Subscribe: true, Protocol: "WHIP"})
	if err != nil {
		t.Fatalf("join a fixture participant: %v", err)
	}
	t.Cleanup(func() { conn.Leave(context.Background()) })
	f.Session = conn.SessionID()
	s.Node.Stages().Flush()
	return f
}

// overrides point every ARN shape at the fixtures and give each ImportPublicKey a new key.
func (f fixtures) overrides(t testing.TB) map[string]func() any {
	fixed := func(v string) func() any { return func() any { return v } }
	return map[string]func() any{
		"StageArn":                fixed(f.Stage),
		"ResourceArn":             fixed(f.Stage),
		"StorageConfigurationArn": fixed(f.Storage),
		"AutoParticipantRecordingStorageConfigurationArn": fixed(f.Storage),
		"EncoderConfigurationArn":                         fixed(f.Encoder),
		"PublicKeyArn":                                    fixed(f.PublicKey),
		"StageSessionId":                                  fixed(f.Session),
		"ParticipantId":                                   fixed(f.Participant),
		"ParticipantTokenId":                              fixed(f.Participant),
		"PublicKeyMaterial":                               func() any { return newPublicKeyPEM(t) },
	}
}

// TestRouterServesIssueOperations: every operation of the issue has a route. An empty input
// may be invalid, but must never be an unknown operation.
func TestRouterServesIssueOperations(t *testing.T) {
	m := loadModel(t)
	s := servertest.Start(t, nil)
	c := newRawClient(s)
	f := newFixtures(t, s)
	for _, op := range issueOperations {
		t.Run(op, func(t *testing.T) {
			in := map[string]any{}
			// The tag operations' label is part of the route: give them a real resource.
			for name, ref := range m.Shapes[m.Operations[op].Input].Members {
				if ref.Location == "uri" {
					in[name] = f.Stage
				}
			}
			req := bind(t, m, op, in)
			r := c.do(t, req)
			switch {
			case r.Status == http.StatusOK:
			case r.Status == http.StatusBadRequest && r.Header.Get("x-amzn-ErrorType") == "ValidationException":
				checkErrorBody(t, op, r)
			default:
				t.Errorf("%s (%s): got %s; want 200 or 400 ValidationException", op, req, r)
			}
		})
	}
}

// TestEveryConstraintIsEnforced breaks, one at a time, every constraint the model states on
// the inputs of the issue's operations, and expects a ValidationException naming the member.
func TestEveryConstraintIsEnforced(t *testing.T) {
	m := loadModel(t)
	s := servertest.Start(t, nil)
	c := newRawClient(s)
	key := newPublicKeyPEM(t)
	var mu sync.Mutex
	counts := map[string]int{}
	t.Run("op", func(t *testing.T) {
		for _, op := range issueOperations {
			t.Run(op, func(t *testing.T) {
				t.Parallel()
				// Validation runs before any lookup, so ARNs need not exist (placeholder ARNs
				// derived from the patterns); the key must be real to pass ImportPublicKey.
				g := &gen{t: t, m: m, override: map[string]func() any{"PublicKeyMaterial": func() any { return key }}}

				base := g.input(op)
				req := bind(t, m, op, base)
				r := c.do(t, req)
				if !(r.Status == http.StatusOK || r.Status == http.StatusNotFound && r.Header.Get("x-amzn-ErrorType") == "ResourceNotFoundException") {
					t.Fatalf("%s baseline %s: got %s; want 200 or 404 ResourceNotFoundException (the generated baseline must be valid)", op, req, r)
				}

				seen := map[string]bool{}
				n := 0
				for _, v := range g.violations(op) {
					req := bind(t, m, op, v.Input)
					id := req.Method + " " + req.Path + "?" + req.Query + " " + string(req.Body)
					if seen[id] {
						continue
					}
					seen[id] = true
					n++
					if listViolations {
						t.Logf("%s %s -> %s", op, v.Name, req)
					}
					checkValidation(t, op+" "+v.Name+"\n\trequest: "+req.String(), c.do(t, req), v.Member)
				}
				t.Logf("%s: %d constraint violations checked", op, n)
				if len(m.Shapes[m.Operations[op].Input].Members) > 0 && n == 0 {
					t.Errorf("%s has a constrained input but no violation was generated", op)
				}
				mu.Lock()
				counts[op] = n
				mu.Unlock()
			})
		}
	})
	total := 0
	var lines []string
	for _, op := range issueOperations {
		total += counts[op]
		lines = append(lines, op+"="+strconv.Itoa(counts[op]))
	}
	t.Logf("violations checked: %s; total %d", strings.Join(lines, " "), total)
}

// TestDocumentedRules: the rules of SPEC §9 the model cannot state, each with the accepted
// boundary next to the refused value.
func TestDocumentedRules(t *testing.T) {
	m := loadModel(t)
	s := servertest.Start(t, nil)
	c := newRawClient(s)
	f := newFixtures(t, s)

	attrs := func(keyLen, valueLen int) map[string]any {
		return map[string]any{strings.Repeat("k", keyLen): strings.Repeat("v", valueLen)}
	}
	thumb := func(interval int, mode string) map[string]any {
		t := map[string]any{"targetIntervalSeconds": interval}
		if mode != "" {
			t["recordingMode"] = mode
		}
		return map[string]any{"autoParticipantRecordingConfiguration": map[string]any{
			"storageConfigurationArn": f.Storage, "thumbnailConfiguration": t}}
	}
	video := func(dims ...int) map[string]any {
		v := map[string]any{}
		if dims[0] > 0 {
			v["width"] = dims[0]
		}
		if len(dims) > 1 && dims[1] > 0 {
			v["height"] = dims[1]
		}
		return map[string]any{"video": v}
	}
	merge := func(a, b map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out
	}
	stageIn := map[string]any{"stageArn": f.Stage}
	resIn := map[string]any{"resourceArn": f.Stage}
	tests := []struct {
		name    string
		op      string
		in      map[string]any
		members []string // the reply must name one of these; nil: must succeed
	}{
		// Token attributes: at most 1 KB, keys plus values.
		{"token attributes 1024 bytes", "CreateParticipantToken", merge(stageIn, map[string]any{"attributes": attrs(1, 1023)}), nil},
		{"token attributes 1025 bytes", "CreateParticipantToken", merge(stageIn, map[string]any{"attributes": attrs(1, 1024)}), []string{"attributes"}},
		{"token attributes 1025 bytes counting keys", "CreateParticipantToken", merge(stageIn, map[string]any{"attributes": attrs(600, 425)}), []string{"attributes"}},
		{"token attributes over 1 KB in many entries", "CreateParticipantToken", merge(stageIn, map[string]any{"attributes": map[string]any{
			"a": strings.Repeat("x", 300), "b": strings.Repeat("x", 300), "c": strings.Repeat("x", 300), "d": strings.Repeat("x", 300)}}), []string{"attributes"}},
		{"stage token configuration attributes 1024 bytes", "CreateStage", map[string]any{"participantTokenConfigurations": []any{map[string]any{"attributes": attrs(24, 1000)}}}, nil},
		{"stage token configuration attributes 1025 bytes", "CreateStage", map[string]any{"participantTokenConfigurations": []any{
			map[string]any{"userId": "ok"}, map[string]any{"attributes": attrs(25, 1000)}}}, []string{"attributes"}},
		// Video: even dimensions, at most 2,073,600 pixels.
		{"video 1920x1080", "CreateEncoderConfiguration", video(1920, 1080), nil},
		{"video 1080x1920", "CreateEncoderConfiguration", video(1080, 1920), nil},
		{"video width odd", "CreateEncoderConfiguration", video(1279, 720), []string{"width"}},
		{"video height odd", "CreateEncoderConfiguration", video(1280, 719), []string{"height"}},
		{"video 1920x1920", "CreateEncoderConfiguration", video(1920, 1920), []string{"width", "height"}},
		{"video 1442x1440", "CreateEncoderConfiguration", video(1442, 1440), []string{"width", "height"}},
		// Thumbnails: targetIntervalSeconds only with recordingMode INTERVAL.
		{"thumbnail interval 30 with INTERVAL", "UpdateStage", merge(map[string]any{"arn": f.Stage}, thumb(30, "INTERVAL")), nil},
		{"thumbnail interval 30 with DISABLED", "UpdateStage", merge(map[string]any{"arn": f.Stage}, thumb(30, "DISABLED")), []string{"targetIntervalSeconds"}},
		{"thumbnail interval 30 with DISABLED on create", "CreateStage", thumb(30, "DISABLED"), []string{"targetIntervalSeconds"}},
		{"thumbnail interval 30 with default mode", "CreateStage", thumb(30, ""), []string{"targetIntervalSeconds"}},
		// Tags: the aws: prefix is reserved.
		{"tag key awsx:", "TagResource", merge(resIn, map[string]any{"tags": map[string]any{"awsx:k": "v"}}), nil},
		{"tag key aws: on TagResource", "TagResource", merge(resIn, map[string]any{"tags": map[string]any{"aws:k": "v"}}), []string{"tags"}},
		{"tag key aws: on CreateStage", "CreateStage", map[string]any{"tags": map[string]any{"ok": "v", "aws:k": "v"}}, []string{"tags"}},
		{"tag key aws: on CreateStorageConfiguration", "CreateStorageConfiguration", map[string]any{"s3": map[string]any{"bucketName": "b-b"}, "tags": map[string]any{"aws:k": "v"}}, []string{"tags"}},
		{"tag key aws: on CreateEncoderConfiguration", "CreateEncoderConfiguration", map[string]any{"tags": map[string]any{"aws:k": "v"}}, []string{"tags"}},
		{"tag key aws: on ImportPublicKey", "ImportPublicKey", map[string]any{"publicKeyMaterial": newPublicKeyPEM(t), "tags": map[string]any{"aws:k": "v"}}, []string{"tags"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := bind(t, m, tc.op, tc.in)
			r := c.do(t, req)
			what := tc.op + " " + tc.name + " (" + req.String() + ")"
			if tc.members == nil {
				if r.Status != http.StatusOK {
					t.Errorf("%s: got %s; want 200", what, r)
				}
				return
			}
			msg := checkAWSError(t, what, r, http.StatusBadRequest, "ValidationException")
			named := false
			for _, mem := range tc.members {
				named = named || mentionsMember(msg, mem)
			}
			if msg != "" && !named {
				t.Errorf("%s: message names none of %v: %q", what, tc.members, msg)
			}
		})
	}
}

// TestValidRequestsReturnRequiredOutputMembers sends each operation a valid request against
// real resources and checks the reply against the output shape: every required member
// present (recursively), every member modeled and of its modeled JSON type, enums in their
// set, timestamps ISO 8601 strings.
func TestValidRequestsReturnRequiredOutputMembers(t *testing.T) {
	m := loadModel(t)
	s := servertest.Start(t, nil)
	c := newRawClient(s)
	for _, op := range issueOperations {
		t.Run(op, func(t *testing.T) {
			f := newFixtures(t, s) // fresh, so Delete* and UpdateStage do not disturb others
			g := &gen{t: t, m: m, override: f.overrides(t)}
			in := g.input(op)
			req := bind(t, m, op, in)
			r := c.do(t, req)
			if r.Status != http.StatusOK {
				t.Fatalf("%s (%s): got %s; want 200", op, req, r)
			}
			checkSuccess(t, m, op, r)
			switch op {
			case "CreateParticipantToken":
				requireTimestamp(t, r.JSON, "participantToken", "expirationTime")
			case "CreateStage":
				toks, _ := r.JSON["participantTokens"].([]any)
				if len(toks) != len(in["participantTokenConfigurations"].([]any)) {
					t.Fatalf("CreateStage: %d participantTokens for %d configurations: %s", len(toks), len(in["participantTokenConfigurations"].([]any)), r.Raw)
				}
				for _, tok := range toks {
					requireTimestamp(t, map[string]any{"t": tok}, "t", "expirationTime")
				}
			}
		})
	}

	// Required lists are present, as [], when there is nothing to list; tags as {}.
	t.Run("empty", func(t *testing.T) {
		s := servertest.Start(t, nil)
		c := newRawClient(s)
		for _, op := range []string{"ListStages", "ListStorageConfigurations", "ListEncoderConfigurations", "ListPublicKeys"} {
			r := c.call(t, m, op, map[string]any{})
			if r.Status != http.StatusOK {
				t.Fatalf("%s: got %s", op, r)
			}
			checkSuccess(t, m, op, r)
			for _, name := range m.Shapes[m.Operations[op].Output].Required {
				if l, ok := r.JSON[name].([]any); !ok || len(l) != 0 {
					t.Errorf("%s on an empty server: %s is %s, want []", op, name, r.Raw)
				}
			}
		}
		var st struct {
			Stage struct{ Arn string } `json:"stage"`
		}
		if err := s.Client().Call(context.Background(), "CreateStage", nil, &st); err != nil {
			t.Fatal(err)
		}
		r := c.call(t, m, "ListTagsForResource", map[string]any{"resourceArn": st.Stage.Arn})
		if r.Status != http.StatusOK {
			t.Fatalf("ListTagsForResource: got %s", r)
		}
		checkSuccess(t, m, "ListTagsForResource", r)
		if tags, ok := r.JSON["tags"].(map[string]any); !ok || len(tags) != 0 {
			t.Errorf("ListTagsForResource of an untagged stage: %s, want tags {}", r.Raw)
		}
	})
}

func checkSuccess(t *testing.T, m *awsmodel.Model, op string, r reply) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", op, ct)
	}
	if r.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s: no x-amzn-RequestId", op)
	}
	if r.JSON == nil {
		t.Fatalf("%s: body is not a JSON object: %s", op, r.Raw)
	}
	out := m.Operations[op].Output
	if out == "" {
		return
	}
	for _, p := range checkOutput(m, m.Shapes[out], r.JSON, "") {
		t.Errorf("%s: %s\n\treply: %s", op, p, r.Raw)
	}
}

// checkOutput returns the ways v departs from output shape s.
func checkOutput(m *awsmodel.Model, s *awsmodel.Shape, v any, path string) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, path+": "+fmt.Sprintf(format, a...)) }
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a JSON object, got %s", jsonOf(v))
			return out
		}
		for _, name := range s.Required {
			if obj[name] == nil {
				out = append(out, join(path, name)+": required member missing")
			}
		}
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			ref := s.Members[name]
			if ref == nil {
				out = append(out, join(path, name)+": not a member of "+s.Name)
				continue
			}
			if ref.Location != "" && ref.Location != "body" {
				out = append(out, join(path, name)+": a "+ref.Location+" member sent in the body")
				continue
			}
			if obj[name] == nil {
				continue
			}
			out = append(out, checkOutput(m, m.Shapes[ref.Shape], obj[name], join(path, name))...)
		}
	case "list":
		items, ok := v.([]any)
		if !ok {
			bad("want a JSON array, got %s", jsonOf(v))
			return out
		}
		for i, it := range items {
			out = append(out, checkOutput(m, m.Shapes[s.Member.Shape], it, path+"["+strconv.Itoa(i)+"]")...)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a JSON object, got %s", jsonOf(v))
			return out
		}
		for k, it := range obj {
			out = append(out, checkOutput(m, m.Shapes[s.Value.Shape], it, join(path, k))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %s", jsonOf(v))
			return out
		}
		if len(s.Enum) > 0 {
			found := false
			for _, e := range s.Enum {
				found = found || e == str
			}
			if !found {
				bad("%q is not one of %v", str, s.Enum)
			}
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
			bad("want an integer, got %s", jsonOf(v))
		}
	case "float", "double":
		if _, ok := v.(json.Number); !ok {
			bad("want a number, got %s", jsonOf(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %s", jsonOf(v))
		}
	case "timestamp":
		str, ok := v.(string)
		if !ok {
			bad("want an ISO 8601 timestamp string (SPEC §2.3), got %s", jsonOf(v))
			return out
		}
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			bad("%q is not ISO 8601: %v", str, err)
		}
	}
	return out
}

// requireTimestamp asserts obj[outer][member] is present and an ISO 8601 string.
func requireTimestamp(t *testing.T, obj map[string]any, outer, member string) {
	t.Helper()
	in, _ := obj[outer].(map[string]any)
	v, ok := in[member].(string)
	if !ok {
		t.Errorf("%s.%s: want an ISO 8601 string, got %s", outer, member, jsonOf(in[member]))
		return
	}
	ts, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t.Errorf("%s.%s: %q is not ISO 8601: %v", outer, member, v, err)
	} else if ts.Before(time.Now().Add(-time.Minute)) {
		t.Errorf("%s.%s: %s is in the past", outer, member, v)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// TestMalformedRequests: bodies and routes that are not valid requests get AWS-shaped 4xx
// replies, never a 5xx.
func TestMalformedRequests(t *testing.T) {
	s := servertest.Start(t, nil)
	c := newRawClient(s)
	f := newFixtures(t, s)
	big := []byte(`{"name":"` + strings.Repeat("a", 1<<20+1024) + `"}`)
	deep := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	deepObj := []byte(`{"name":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`)
	tests := []struct {
		name   string
		req    wireRequest
		status int    // 0: any 4xx
		code   string // "" with status 0: any code
		member string // member the ValidationException must name
	}{
		{"malformed JSON", wireRequest{"POST", "/CreateStage", "", []byte(`{"name":`)}, 400, "ValidationException", ""},
		{"not JSON at all", wireRequest{"POST", "/ListStages", "", []byte(`hello`)}, 400, "ValidationException", ""},
		{"JSON array body", wireRequest{"POST", "/CreateStage", "", []byte(`[{"name":"x"}]`)}, 400, "ValidationException", ""},
		{"JSON string body", wireRequest{"POST", "/ListStages", "", []byte(`"x"`)}, 400, "ValidationException", ""},
		{"JSON null body", wireRequest{"POST", "/ListStages", "", []byte(`null`)}, 400, "ValidationException", ""},
		{"trailing data", wireRequest{"POST", "/ListStages", "", []byte(`{} {}`)}, 400, "ValidationException", ""},
		{"wrong-case member", wireRequest{"POST", "/GetStage", "", []byte(`{"ARN":"` + f.Stage + `"}`)}, 400, "ValidationException", "arn"},
		{"wrong-case nested member", wireRequest{"POST", "/CreateStorageConfiguration", "", []byte(`{"s3":{"BucketName":"abc"}}`)}, 400, "ValidationException", "bucketName"},
		{"empty body, required member", wireRequest{"POST", "/GetStage", "", nil}, 400, "ValidationException", "arn"},
		{"integer out of int64", wireRequest{"POST", "/ListStages", "", []byte(`{"maxResults":1e400}`)}, 400, "ValidationException", "maxResults"},
		{"huge integer", wireRequest{"POST", "/ListStages", "", []byte(`{"maxResults":99999999999999999999999}`)}, 400, "ValidationException", "maxResults"},
		{"deeply nested array", wireRequest{"POST", "/ListStages", "", deep}, 400, "ValidationException", ""},
		{"deeply nested member", wireRequest{"POST", "/CreateStage", "", deepObj}, 400, "ValidationException", ""},
		{"unknown operation", wireRequest{"POST", "/NoSuchOperation", "", []byte(`{}`)}, 404, "UnknownOperationException", ""},
		{"unknown operation, nested path", wireRequest{"POST", "/CreateStage/x", "", []byte(`{}`)}, 404, "UnknownOperationException", ""},
		{"root path", wireRequest{"POST", "/", "", []byte(`{}`)}, 404, "UnknownOperationException", ""},
		{"wrong method", wireRequest{"GET", "/ListStages", "", nil}, 0, "", ""},
		{"wrong method on tags", wireRequest{"PUT", servertest.TagPath(f.Stage), "", []byte(`{}`)}, 0, "", ""},
		{"body over 1 MiB", wireRequest{"POST", "/CreateStage", "", big}, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.req)
			what := tc.name + " (" + tc.req.String() + ")"
			if r.Status >= 500 {
				t.Fatalf("%s: got %s; want 4xx", what, r)
			}
			if tc.status == 0 {
				if r.Status < 400 || r.Status > 499 || r.Header.Get("x-amzn-ErrorType") == "" {
					t.Fatalf("%s: got %s; want an AWS-shaped 4xx", what, r)
				}
				checkErrorBody(t, what, r)
				return
			}
			msg := checkAWSError(t, what, r, tc.status, tc.code)
			if tc.member != "" && msg != "" && !mentionsMember(msg, tc.member) {
				t.Errorf("%s: message does not name %q: %q", what, tc.member, msg)
			}
		})
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
