package recording_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// localObjects lists a recording in the local store: <data-dir>/recordings/<bucket>/<prefix>.
func localObjects(t *testing.T, dataDir, bucket, prefix string) objects {
	t.Helper()
	o := objects{dir: filepath.Join(dataDir, "recordings", bucket, filepath.FromSlash(prefix))}
	err := filepath.WalkDir(o.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(o.dir, p)
		o.keys = append(o.keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("list the local recording: %v", err)
	}
	slices.Sort(o.keys)
	return o
}

// TestRecordLocalAndPlay records 20 s into the local store, fetches the HLS over Footlight's
// HTTP and plays it in headless Chromium with hls.js.
func TestRecordLocalAndPlay(t *testing.T) {
	srv := servertest.Start(t, nil)
	c := srv.Client()
	st, tok := newRecordedStage(t, c, bucket, recordAll())
	p := publish(t, st, tok)
	session := activeSession(t, c, st.Arn)
	time.Sleep(mediaSeconds * time.Second) // the publish's length
	unpublish(t, st, p)
	poll(t, 30*time.Second, "the recording to reach STOPPED", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "STOPPED"
	})
	part := getParticipant(t, c, st.Arn, session, tok.ParticipantID)
	for state, want := range map[string]int{"STOPPED": 1, "ACTIVE": 0} {
		var list struct {
			Participants []struct{ ParticipantID, RecordingState string } `json:"participants"`
		}
		in := map[string]any{"stageArn": st.Arn, "sessionId": session, "filterByRecordingState": state}
		if err := c.Call(context.Background(), "ListParticipants", in, &list); err != nil || len(list.Participants) != want {
			t.Errorf("ListParticipants filterByRecordingState=%s: %+v, %v", state, list.Participants, err)
		}
	}
	o := localObjects(t, srv.DataDir, part.RecordingS3BucketName, part.RecordingS3Prefix)
	checkRecording(t, o, true, mediaSeconds, 4, 5)
	checkEvents(t, o, st.Arn, session, tok.ParticipantID, "events/recording-ended.json", "RECORDING_ENDED", mediaSeconds)

	// Served read-only over HTTP, with CORS, as a player on any origin needs.
	url := srv.URL + "/recordings/" + bucket + "/" + part.RecordingS3Prefix + "/media/hls/multivariant.m3u8"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(string(body), "high/playlist.m3u8") {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, resp.Header, body)
	}

	artifacts := artifactDir(t)
	cmd := exec.Command("node", "play.mjs", url, filepath.Join(artifacts, "recording-playback.png"))
	cmd.Dir = "play"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("play in Chromium: %v\n%s", err, errOutput(err))
	}
	var got struct {
		CurrentTime float64  `json:"currentTime"`
		VideoWidth  int      `json:"videoWidth"`
		Frames      int      `json:"frames"`
		HLSErrors   []string `json:"hlsErrors"`
		PageErrors  []string `json:"pageErrors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("player output %q: %v", out, err)
	}
	t.Logf("Chromium played to %.2f s, %d frames, width %d, hls.js errors %v", got.CurrentTime, got.Frames, got.VideoWidth, got.HLSErrors)
	if got.CurrentTime <= 5 || got.VideoWidth != videoWidth || len(got.PageErrors) > 0 {
		t.Fatalf("Chromium playback: %+v", got)
	}
}

func errOutput(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// artifactDir is test-artifacts/ at the repository root (kept by CI, ignored by git).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts"))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReconnectWindow: a publisher that comes back within recordingReconnectWindowSeconds
// continues the same recording (same prefix, numbering continued); one that comes back after
// it starts a new recording under a new prefix.
func TestReconnectWindow(t *testing.T) {
	srv := servertest.Start(t, nil)
	c := srv.Client()
	cfg := recordAll()
	cfg["recordingReconnectWindowSeconds"] = 4
	cfg["hlsConfiguration"] = map[string]any{"targetSegmentDurationSeconds": 2}
	st, tok := newRecordedStage(t, c, bucket, cfg)

	p := publish(t, st, tok)
	session := activeSession(t, c, st.Arn)
	time.Sleep(4 * time.Second) // the first piece's length
	unpublish(t, st, p)
	poll(t, 5*time.Second, "the recording to wait for a reconnect", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "STOPPING"
	})
	first := getParticipant(t, c, st.Arn, session, tok.ParticipantID).RecordingS3Prefix

	p = publish(t, st, tok) // back within the window
	poll(t, 5*time.Second, "the recording to continue", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "ACTIVE"
	})
	time.Sleep(4 * time.Second) // the second piece's length
	unpublish(t, st, p)
	poll(t, 20*time.Second, "the recording to end after the window", func() bool {
		return recordingState(c, st.Arn, session, tok.ParticipantID) == "STOPPED"
	})
	part := getParticipant(t, c, st.Arn, session, tok.ParticipantID)
	if part.RecordingS3Prefix != first {
		t.Fatalf("the continued recording moved from %s to %s", first, part.RecordingS3Prefix)
	}
	o := localObjects(t, srv.DataDir, bucket, first)
	n, probe := checkHLS(t, o, "events/recording-ended.json")
	pl := string(o.read(t, "media/hls/high/playlist.m3u8"))
	if strings.Count(pl, "#EXT-X-DISCONTINUITY") != 1 || !strings.Contains(pl, `#EXT-X-MAP:URI="init-2.mp4"`) || n < 3 {
		t.Errorf("two pieces in one playlist should show one discontinuity and a second init:\n%s", pl)
	}
	if d := probe.duration(); d < 6 || d > 10 {
		t.Errorf("two 4 s pieces recorded as %.2f s", d)
	}
	if strings.Count(strings.Join(o.keys, " "), "recording-started.json") != 1 || !o.has("events/recording-ended.json") {
		t.Errorf("one recording should have one start and one end file: %q", o.keys)
	}

	// After the window, a new recording under a new prefix.
	p = publish(t, st, tok)
	sessionNow := activeSession(t, c, st.Arn)
	poll(t, 5*time.Second, "a new recording", func() bool {
		q, err := tryParticipant(c, st.Arn, sessionNow, tok.ParticipantID)
		return err == nil && q.RecordingState == "ACTIVE" && q.RecordingS3Prefix != first
	})
	unpublish(t, st, p)
}

// TestMediaTypes: AUDIO_ONLY records HLS of the audio alone; NONE records no HLS but still
// the thumbnails and the event files (without media.hls).
func TestMediaTypes(t *testing.T) {
	srv := servertest.Start(t, nil)
	c := srv.Client()
	thumbs := map[string]any{"recordingMode": "INTERVAL", "targetIntervalSeconds": 2, "storage": []string{"SEQUENTIAL"}}
	audioSt, audioTok := newRecordedStage(t, c, bucket, recordingConfig{"mediaTypes": []string{"AUDIO_ONLY"},
		"hlsConfiguration": map[string]any{"targetSegmentDurationSeconds": 2}})
	noneSt, noneTok := newRecordedStage(t, c, bucket, recordingConfig{"mediaTypes": []string{"NONE"}, "thumbnailConfiguration": thumbs})
	pa, pn := publish(t, audioSt, audioTok), publish(t, noneSt, noneTok)
	audioSession, noneSession := activeSession(t, c, audioSt.Arn), activeSession(t, c, noneSt.Arn)
	time.Sleep(6 * time.Second) // the publishes' length
	unpublish(t, audioSt, pa)
	unpublish(t, noneSt, pn)
	stopped := func(st stageOut, session, id string) participant {
		poll(t, 30*time.Second, "the recording to reach STOPPED", func() bool {
			return recordingState(c, st.Arn, session, id) == "STOPPED"
		})
		return getParticipant(t, c, st.Arn, session, id)
	}

	a := stopped(audioSt, audioSession, audioTok.ParticipantID)
	o := localObjects(t, srv.DataDir, bucket, a.RecordingS3Prefix)
	probe := ffprobe(t, filepath.Join(o.dir, "media", "hls", "multivariant.m3u8"))
	if len(probe.Streams) != 1 || probe.stream("audio") == nil || probe.duration() < 4 {
		t.Errorf("AUDIO_ONLY recording: %.2f s, streams %+v", probe.duration(), probe.Streams)
	}
	if e := readEvent(t, o, "events/recording-ended.json"); e.Media.HLS == nil || e.Media.Thumbnails != nil {
		t.Errorf("AUDIO_ONLY end event media: %+v", e.Media)
	}

	n := stopped(noneSt, noneSession, noneTok.ParticipantID)
	o = localObjects(t, srv.DataDir, bucket, n.RecordingS3Prefix)
	for _, k := range o.keys {
		if strings.HasPrefix(k, "media/hls/") {
			t.Errorf("NONE recorded HLS: %s", k)
		}
	}
	var jpegs int
	for _, k := range o.keys {
		if strings.HasPrefix(k, "media/thumbnails/high/") {
			jpegs++
			checkJPEG(t, k, o.read(t, k))
		}
	}
	if jpegs < 2 {
		t.Errorf("NONE with 2 s thumbnails over 6 s wrote %d: %q", jpegs, o.keys)
	}
	for _, k := range []string{"events/recording-started.json", "events/recording-ended.json"} {
		if e := readEvent(t, o, k); e.Media.HLS != nil || e.Media.Thumbnails == nil {
			t.Errorf("NONE %s media: %+v", k, e.Media)
		}
	}
}
