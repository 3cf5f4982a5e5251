package awsmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func members(t *testing.T, body string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidateInput(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	stage := `"arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh"`
	tests := []struct {
		name, op, body string
		want           []string // substrings of the message; none means valid
	}{
		{"valid", "GetStage", `{"arn":` + stage + `}`, nil},
		{"missing required", "GetStage", `{}`, []string{"1 validation error detected", "at 'arn'", "must not be null"}},
		{"null is absent", "GetStage", `{"arn":null}`, []string{"at 'arn'"}},
		{"pattern is anchored", "GetStage", `{"arn":"x` + strings.Trim(stage, `"`) + `"}`, []string{"at 'arn'", "regular expression"}},
		{"nested list member", "CreateStage", `{"participantTokenConfigurations":[{"duration":1},{"duration":20161}]}`, []string{"at 'participantTokenConfigurations.2.member.duration'", "less than or equal to 20160"}},
		{"wrong type", "CreateParticipantToken", `{"stageArn":` + stage + `,"duration":"12"}`, []string{"at 'duration'", "integer"}},
		{"fraction is no integer", "CreateParticipantToken", `{"stageArn":` + stage + `,"duration":1.5}`, []string{"at 'duration'"}},
		{"enum", "CreateParticipantToken", `{"stageArn":` + stage + `,"capabilities":["PUBLISH","WATCH"]}`, []string{"capabilities.2.member", "enum"}},
		{"attributes over 1 KB", "CreateParticipantToken", `{"stageArn":` + stage + `,"attributes":{"a":"` + strings.Repeat("x", 1024) + `"}}`, []string{"at 'attributes'", "1024 bytes"}},
		{"length in code points", "CreateParticipantToken", `{"stageArn":` + stage + `,"userId":"` + strings.Repeat("é", 128) + `"}`, nil},
		{"tags map size", "TagResource", `{"resourceArn":` + stage + `,"tags":{` + manyTags(51) + `}}`, []string{"at 'tags'", "50"}},
		{"reserved tag prefix", "TagResource", `{"resourceArn":` + stage + `,"tags":{"aws:x":"1"}}`, []string{"aws:"}},
		{"resource arn model bug fixed", "ListTagsForResource", `{"resourceArn":` + stage + `}`, nil},
		{"odd width", "CreateEncoderConfiguration", `{"video":{"width":1279}}`, []string{"video.width", "even"}},
		{"too many pixels", "CreateEncoderConfiguration", `{"video":{"width":1920,"height":1920}}`, []string{"video.width", "2073600"}},
		{"float range", "CreateEncoderConfiguration", `{"video":{"framerate":60.5}}`, []string{"video.framerate"}},
		{"interval needs INTERVAL", "CreateStage", `{"autoParticipantRecordingConfiguration":{"storageConfigurationArn":"","thumbnailConfiguration":{"targetIntervalSeconds":30}}}`, []string{"targetIntervalSeconds", "INTERVAL"}},
		{"default interval with DISABLED", "CreateStage", `{"autoParticipantRecordingConfiguration":{"storageConfigurationArn":"","thumbnailConfiguration":{"targetIntervalSeconds":60,"recordingMode":"DISABLED"}}}`, nil},
		{"required nested", "CreateStage", `{"autoParticipantRecordingConfiguration":{}}`, []string{"autoParticipantRecordingConfiguration.storageConfigurationArn"}},
		{"unknown members ignored", "ListStages", `{"foo":1,"maxResults":5}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.ValidateInput(tt.op, members(t, tt.body))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("message %q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

func manyTags(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
	}
	return b.String()
}

// TestPrunesLooseMembers: a member spelled in another case never reaches the decoder, which
// would otherwise match it case-insensitively and bypass validation.
func TestPrunesLooseMembers(t *testing.T) {
	m, _ := Load()
	in := members(t, `{"arn":"arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh","ARN":"../../etc","Arn":null}`)
	if err := m.ValidateInput("GetStage", in); err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in["arn"] == nil {
		t.Fatalf("after validation: %v", in)
	}
}

// TestEveryPatternCompiles: each model pattern, anchored, compiles in RE2 (SPEC §9).
func TestEveryPatternCompiles(t *testing.T) {
	m, _ := Load()
	n := 0
	for name, s := range m.Shapes {
		if s.Pattern != "" {
			n++
			if s.PatternRE() == nil {
				t.Errorf("shape %s: pattern not compiled", name)
			}
		}
	}
	if n < 20 || len(m.Operations) != 39 {
		t.Fatalf("model has %d patterns and %d operations; want ≥20 and 39", n, len(m.Operations))
	}
}
