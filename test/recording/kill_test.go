package recording_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/s3test"
	"github.com/footlight/footlight/internal/servertest"
)

// TestKillMidRecording: with the S3 store down, segments pile up on Footlight's disk; a
// kill -9 then loses none of the closed ones. When the server and the store come back, every
// segment closed before the kill is in the bucket and in the ended playlist, and the
// recording shows as failed (the server died while recording).
func TestKillMidRecording(t *testing.T) {
	gw := s3test.Start(t)
	gw.CreateBucket(bucket)
	t.Setenv("FOOTLIGHT_S3_ACCESS_KEY_ID", gw.AccessKeyID)
	t.Setenv("FOOTLIGHT_S3_SECRET_ACCESS_KEY", gw.SecretAccessKey)
	dir := t.TempDir()
	flags := []string{"--s3-endpoint", gw.Endpoint, "--s3-region", gw.Region}
	p := servertest.StartBinary(t, dir, flags...)
	c := p.Client()
	cfg := recordAll()
	cfg["hlsConfiguration"] = map[string]any{"targetSegmentDurationSeconds": 2}
	st, tok := newRecordedStage(t, c, bucket, cfg)
	pub := publish(t, st, tok)
	session := activeSession(t, c, st.Arn)
	poll(t, 10*time.Second, "the recording to be ACTIVE", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "ACTIVE"
	})
	prefix := getParticipant(t, c, st.Arn, session, tok.ParticipantID).RecordingS3Prefix

	gw.Stop()
	time.Sleep(7 * time.Second) // media keeps coming while the store is down
	closed := spooledSegments(t, dir)
	if closed < 2 {
		t.Fatalf("only %d segments closed in 7 s at a 2 s target", closed)
	}
	if err := p.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pub.Stop()

	gw.Resume()
	p = servertest.StartBinary(t, dir, flags...)
	c = p.Client()
	poll(t, 30*time.Second, "the interrupted recording to be stored", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "FAILED"
	})
	o := downloadS3(t, gw, bucket, prefix)
	n, probe := checkHLS(t, o, "events/recording-failed.json")
	if n < closed {
		t.Fatalf("%d segments were closed before the kill, %d are in the playlist", closed, n)
	}
	if d := probe.duration(); d < float64(closed)*1.5 {
		t.Errorf("%d closed segments play for only %.2f s", closed, d)
	}
	failed := readEvent(t, o, "events/recording-failed.json")
	if failed.Status != "RECORDING_ENDED_WITH_FAILURE" || failed.StatusMessage == "" || failed.EndedAt == "" || failed.SessionID != session {
		t.Errorf("recording-failed.json: %+v", failed)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "recording-spool")); len(entries) != 0 {
		t.Errorf("the spool still holds %d recordings after they were stored", len(entries))
	}
	t.Logf("%d segments closed before the kill, %d stored", closed, n)
}

// spooledSegments reads how many segments the running server has committed (closed) in its
// recording spool: what a kill must not lose.
func spooledSegments(t *testing.T, dataDir string) int {
	t.Helper()
	states, _ := filepath.Glob(filepath.Join(dataDir, "recording-spool", "*", "state.json"))
	if len(states) != 1 {
		t.Fatalf("%d recordings in the spool, want 1", len(states))
	}
	b, err := os.ReadFile(states[0])
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Segments []json.RawMessage `json:"segments"`
		Prefix   string            `json:"prefix"`
	}
	if err := json.Unmarshal(b, &st); err != nil || !strings.Contains(st.Prefix, "/") {
		t.Fatalf("spool state %s: %v", b, err)
	}
	return len(st.Segments)
}
