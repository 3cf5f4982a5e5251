package recording_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/footlight/footlight/internal/s3test"
	"github.com/footlight/footlight/internal/server"
	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/storage"
)

const bucket = "ivs-recordings"

// thumbnails every 5 s, both SEQUENTIAL and LATEST; 4 s segments.
func recordAll() recordingConfig {
	return recordingConfig{
		"mediaTypes": []string{"AUDIO_VIDEO"},
		"thumbnailConfiguration": map[string]any{
			"recordingMode": "INTERVAL", "targetIntervalSeconds": 5, "storage": []string{"SEQUENTIAL", "LATEST"},
		},
		"hlsConfiguration": map[string]any{"targetSegmentDurationSeconds": 4},
	}
}

// TestRecordToS3 publishes 20 s of H.264 and Opus into a stage recording to a real S3 server
// that is down for 10 s in the middle of it, and checks the recording as IVS lays it out.
func TestRecordToS3(t *testing.T) {
	gw := s3test.Start(t)
	gw.CreateBucket(bucket)
	srv := servertest.Start(t, func(c *server.Config) {
		c.S3 = storage.S3Config{Endpoint: gw.Endpoint, Region: gw.Region, AccessKeyID: gw.AccessKeyID, SecretAccessKey: gw.SecretAccessKey, PathStyle: true}
	})
	c := srv.Client()

	// With an S3 store, a storage configuration must name a bucket that exists (as on IVS).
	err := c.Call(context.Background(), "CreateStorageConfiguration", map[string]any{"s3": map[string]string{"bucketName": "no-such-bucket"}}, nil)
	if ae, ok := err.(*servertest.APIError); !ok || ae.Status != 400 || ae.Code != "ValidationException" || !strings.Contains(ae.Message, "s3.bucketName") {
		t.Fatalf("storage configuration for a missing bucket: %v", err)
	}

	st, tok := newRecordedStage(t, c, bucket, recordAll())
	p := publish(t, st, tok)
	session := activeSession(t, c, st.Arn)
	w := watchStates(t, c, st.Arn, session, tok.ParticipantID)
	start := time.Now()

	time.Sleep(6 * time.Second) // media flows while the store is up
	gw.Stop()
	stopped := time.Now()
	time.Sleep(10 * time.Second) // the store is down; segments wait on Footlight's disk
	gw.Resume()
	t.Logf("S3 down for %v", time.Since(stopped).Round(time.Millisecond))
	time.Sleep(time.Until(start.Add(mediaSeconds * time.Second)))
	unpublish(t, st, p)

	poll(t, 60*time.Second, "the recording to reach STOPPED", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "STOPPED"
	})
	w.close()
	part := getParticipant(t, c, st.Arn, session, tok.ParticipantID)
	prefix := part.RecordingS3Prefix
	if part.RecordingS3BucketName != bucket || !strings.HasPrefix(prefix, strings.Join([]string{stageID(st.Arn), session, tok.ParticipantID}, "/")+"/") {
		t.Fatalf("participant recording location %s / %s", part.RecordingS3BucketName, prefix)
	}
	// The watcher may stop before it sees STOPPED, which the poll above saw.
	if states := w.states(); !slices.Contains(states, "ACTIVE") || slices.Contains(states, "FAILED") || part.RecordingState != "STOPPED" {
		t.Errorf("recording states seen: %v, then %s", states, part.RecordingState)
	}
	t.Logf("recording states seen: %v", w.states())

	o := downloadS3(t, gw, bucket, prefix)
	n := checkRecording(t, o, true, mediaSeconds, 4, 5)
	checkEvents(t, o, st.Arn, session, tok.ParticipantID, "events/recording-ended.json", "RECORDING_ENDED", mediaSeconds)
	t.Logf("%d segments, %d objects", n, len(o.keys))
}

func stageID(stageArn string) string { return stageArn[strings.LastIndexByte(stageArn, '/')+1:] }

// downloadS3 copies every object under prefix into a temp dir.
func downloadS3(t *testing.T, gw *s3test.Server, bucket, prefix string) objects {
	t.Helper()
	ctx, cl := context.Background(), gw.Client()
	o := objects{dir: t.TempDir()}
	pages := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + "/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, obj := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(obj.Key), prefix+"/")
			got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: obj.Key})
			if err != nil {
				t.Fatalf("get %s: %v", key, err)
			}
			body, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil {
				t.Fatalf("get %s: %v", key, err)
			}
			path := filepath.Join(o.dir, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			o.keys = append(o.keys, key)
		}
	}
	slices.Sort(o.keys)
	return o
}
