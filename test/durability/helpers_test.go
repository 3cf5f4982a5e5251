// Package durability_test checks that what Footlight acknowledges survives the end of its
// process: a graceful SIGTERM restart (restart_test.go) and SIGKILL in the middle of
// concurrent writes (kill_test.go). Both drive the real `footlight serve` binary over HTTP
// with SigV4-signed requests, on a data dir in t.TempDir().
package durability_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/footlight/footlight/internal/servertest"
)

// Wire shapes of the replies, with pointers where a missing member must be told apart from a
// zero one.

type endpoints struct {
	Events string `json:"events"`
	WHIP   string `json:"whip"`
	RTMP   string `json:"rtmp"`
	RTMPS  string `json:"rtmps"`
}

type thumbnail struct {
	TargetIntervalSeconds int      `json:"targetIntervalSeconds"`
	Storage               []string `json:"storage"`
	RecordingMode         string   `json:"recordingMode"`
}

type hls struct {
	TargetSegmentDurationSeconds int `json:"targetSegmentDurationSeconds"`
}

type recording struct {
	StorageConfigurationArn         string     `json:"storageConfigurationArn"`
	MediaTypes                      []string   `json:"mediaTypes"`
	ThumbnailConfiguration          *thumbnail `json:"thumbnailConfiguration"`
	RecordingReconnectWindowSeconds int        `json:"recordingReconnectWindowSeconds"`
	HLSConfiguration                *hls       `json:"hlsConfiguration"`
	RecordParticipantReplicas       bool       `json:"recordParticipantReplicas"`
}

type stage struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ActiveSessionID string            `json:"activeSessionId"`
	Tags            map[string]string `json:"tags"`
	Recording       *recording        `json:"autoParticipantRecordingConfiguration"`
	Endpoints       *endpoints        `json:"endpoints"`
}

type stageSummary struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ActiveSessionID string            `json:"activeSessionId"`
	Tags            map[string]string `json:"tags"`
}

type s3 struct {
	BucketName string `json:"bucketName"`
}

type storageConfig struct {
	Arn  string            `json:"arn"`
	Name string            `json:"name"`
	S3   *s3               `json:"s3"`
	Tags map[string]string `json:"tags"`
}

type participantToken struct {
	ParticipantID string `json:"participantId"`
	Token         string `json:"token"`
	UserID        string `json:"userId"`
}

// stageID is the resource id at the end of a stage ARN.
func stageID(stageArn string) string {
	_, id, _ := strings.Cut(stageArn, ":stage/")
	return id
}

// wantEndpoints are the endpoints a stage advertises when the server's public URL is base
// (an http://127.0.0.1:port URL: servertest sets no --public-url) and RTMP(S) are off.
func wantEndpoints(base, stageArn string) endpoints {
	return endpoints{Events: "ws://" + strings.TrimPrefix(base, "http://") + "/events", WHIP: base + "/whip/" + stageID(stageArn)}
}

// getStage is GetStage's stage, an error when the reply carries none.
func getStage(ctx context.Context, c *servertest.Client, stageArn string) (stage, error) {
	var out struct {
		Stage *stage `json:"stage"`
	}
	if err := c.Call(ctx, "GetStage", map[string]string{"arn": stageArn}, &out); err != nil {
		return stage{}, fmt.Errorf("GetStage %s: %w", stageArn, err)
	}
	if out.Stage == nil {
		return stage{}, fmt.Errorf("GetStage %s: reply has no stage", stageArn)
	}
	return *out.Stage, nil
}

// checkComplete reports what a stage read back from a server at base lacks: every member
// present, endpoints those of its ARN.
func checkComplete(st stage, wantArn, base string) error {
	var problems []string
	if st.Arn != wantArn {
		problems = append(problems, fmt.Sprintf("arn %q", st.Arn))
	}
	if st.Name == "" {
		problems = append(problems, "no name")
	}
	if st.Tags == nil {
		problems = append(problems, "no tags object")
	}
	if r := st.Recording; r == nil {
		problems = append(problems, "no autoParticipantRecordingConfiguration")
	} else if len(r.MediaTypes) == 0 || r.ThumbnailConfiguration == nil || r.HLSConfiguration == nil {
		problems = append(problems, fmt.Sprintf("incomplete autoParticipantRecordingConfiguration %+v", *r))
	}
	if st.Endpoints == nil {
		problems = append(problems, "no endpoints")
	} else if want := wantEndpoints(base, wantArn); *st.Endpoints != want {
		problems = append(problems, fmt.Sprintf("endpoints %+v, want %+v", *st.Endpoints, want))
	}
	if len(problems) > 0 {
		return fmt.Errorf("stage %s is not complete: %s", wantArn, strings.Join(problems, "; "))
	}
	return nil
}

// listTags is ListTagsForResource's tags.
func listTags(ctx context.Context, c *servertest.Client, resourceArn string) (map[string]string, error) {
	var out struct {
		Tags map[string]string `json:"tags"`
	}
	if err := c.Do(ctx, "GET", servertest.TagPath(resourceArn), "", nil, &out); err != nil {
		return nil, fmt.Errorf("ListTagsForResource %s: %w", resourceArn, err)
	}
	if out.Tags == nil {
		return nil, fmt.Errorf("ListTagsForResource %s: reply has no tags object", resourceArn)
	}
	return out.Tags, nil
}

// tagResource is TagResource (POST /tags/{arn}).
func tagResource(ctx context.Context, c *servertest.Client, resourceArn string, tags map[string]string) error {
	body, err := json.Marshal(map[string]any{"tags": tags})
	if err != nil {
		return err
	}
	return c.Do(ctx, "POST", servertest.TagPath(resourceArn), "", body, nil)
}

// listAll pages through a list operation with maxResults 100, following nextToken for at
// most maxPages pages, and returns the items of member in order.
func listAll(ctx context.Context, c *servertest.Client, op, member string, maxPages int) ([]json.RawMessage, error) {
	var all []json.RawMessage
	token := ""
	for page := 0; page < maxPages; page++ {
		in := map[string]any{"maxResults": 100}
		if token != "" {
			in["nextToken"] = token
		}
		var out map[string]json.RawMessage
		if err := c.Call(ctx, op, in, &out); err != nil {
			return nil, fmt.Errorf("%s page %d: %w", op, page+1, err)
		}
		raw, ok := out[member]
		if !ok {
			return nil, fmt.Errorf("%s page %d: no %q member", op, page+1, member)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s page %d: %w", op, page+1, err)
		}
		if len(items) > 100 {
			return nil, fmt.Errorf("%s page %d: %d items for maxResults 100", op, page+1, len(items))
		}
		all = append(all, items...)
		token = ""
		if raw, ok := out["nextToken"]; ok {
			if err := json.Unmarshal(raw, &token); err != nil {
				return nil, fmt.Errorf("%s page %d: nextToken: %w", op, page+1, err)
			}
		}
		if token == "" {
			return all, nil
		}
	}
	return nil, fmt.Errorf("%s: still a nextToken after %d pages", op, maxPages)
}

// decodeAll decodes each item into a T.
func decodeAll[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("item %d: %w (%s)", i, err, raw)
		}
	}
	return out, nil
}

// jwtHeader decodes the (unverified) header of a compact JWS.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		t.Fatalf("participant token %q is not a compact JWS", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("participant token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("participant token header %s: %v", raw, err)
	}
	return h
}

// isAPIError reports whether err is an AWS-shaped error reply (the server answered).
func isAPIError(err error) (*servertest.APIError, bool) {
	var apiErr *servertest.APIError
	ok := errors.As(err, &apiErr)
	return apiErr, ok
}
