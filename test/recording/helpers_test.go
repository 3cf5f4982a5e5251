// Package recording_test records real publishes through a real Footlight into a real S3
// server (versitygw) and the local store, and checks the result as a user of IVS recordings
// would: with ffprobe, an image decoder and the recording event files.
package recording_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// Test media: 640x360 at 30 fps, an IDR every second, about 1 Mbps, and a 440 Hz Opus tone.
const (
	videoWidth, videoHeight = 640, 360
	mediaSeconds            = 20
)

var (
	mediaOnce          sync.Once
	mediaVideo, mediaA [][]byte
)

// testMedia encodes the test video and audio once per process with ffmpeg.
func testMedia(t testing.TB) (video, audio [][]byte) {
	t.Helper()
	mediaOnce.Do(func() {
		dir, err := os.MkdirTemp("", "footlight-recording-media-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		mediaVideo = whiptest.EncodeH264(t, dir, whiptest.H264{Size: fmt.Sprintf("%dx%d", videoWidth, videoHeight),
			Seconds: mediaSeconds, GOP: 30, Bitrate: "1M", Preset: "veryfast"})
		mediaA = whiptest.EncodeOpus(t, dir, mediaSeconds)
	})
	if len(mediaVideo) == 0 || len(mediaA) == 0 {
		t.Fatal("test media could not be encoded")
	}
	return mediaVideo, mediaA
}

type stageOut struct {
	Arn       string `json:"arn"`
	Endpoints struct {
		Whip string `json:"whip"`
	} `json:"endpoints"`
	ActiveSessionID string `json:"activeSessionId"`
}

type tokenOut struct {
	Token         string `json:"token"`
	ParticipantID string `json:"participantId"`
}

// recordingConfig is an autoParticipantRecordingConfiguration as the wire has it.
type recordingConfig map[string]any

// newRecordedStage creates a storage configuration for bucket and a stage recording to it
// with cfg (storageConfigurationArn is filled in), and one publishing token.
func newRecordedStage(t *testing.T, c *servertest.Client, bucket string, cfg recordingConfig) (stageOut, tokenOut) {
	t.Helper()
	ctx := context.Background()
	var sc struct {
		StorageConfiguration struct{ Arn string } `json:"storageConfiguration"`
	}
	if err := c.Call(ctx, "CreateStorageConfiguration", map[string]any{"name": "rec", "s3": map[string]string{"bucketName": bucket}}, &sc); err != nil {
		t.Fatalf("CreateStorageConfiguration: %v", err)
	}
	cfg["storageConfigurationArn"] = sc.StorageConfiguration.Arn
	var out struct {
		Stage             stageOut   `json:"stage"`
		ParticipantTokens []tokenOut `json:"participantTokens"`
	}
	in := map[string]any{
		"name": "recorded", "autoParticipantRecordingConfiguration": cfg,
		"participantTokenConfigurations": []map[string]any{{"userId": "alice", "capabilities": []string{"PUBLISH", "SUBSCRIBE"}}},
	}
	if err := c.Call(ctx, "CreateStage", in, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	return out.Stage, out.ParticipantTokens[0]
}

// publish starts a pion publisher of the test media on the stage.
func publish(t *testing.T, st stageOut, tok tokenOut) *whiptest.Publisher {
	t.Helper()
	video, audio := testMedia(t)
	p := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), tok.ParticipantID, tok.Token, video)
	p.Audio = audio
	p.Location = whiptest.Connect(t, p.PC, st.Endpoints.Whip, tok.Token).Location
	p.Run()
	return p
}

// unpublish leaves as a client does: DELETE on the session, then close the peer.
func unpublish(t *testing.T, st stageOut, p *whiptest.Publisher) {
	t.Helper()
	whiptest.Do(t, "DELETE", whiptest.Resolve(t, st.Endpoints.Whip, p.Location), p.Token, "", "")
	p.Stop()
}

type participant struct {
	State                 string `json:"state"`
	Published             bool   `json:"published"`
	RecordingState        string `json:"recordingState"`
	RecordingS3BucketName string `json:"recordingS3BucketName"`
	RecordingS3Prefix     string `json:"recordingS3Prefix"`
}

func getParticipant(t *testing.T, c *servertest.Client, stageArn, session, id string) participant {
	t.Helper()
	p, err := tryParticipant(c, stageArn, session, id)
	if err != nil {
		t.Fatalf("GetParticipant: %v", err)
	}
	return p
}

// tryParticipant is GetParticipant for polls: the record appears a moment after the session.
func tryParticipant(c *servertest.Client, stageArn, session, id string) (participant, error) {
	var out struct{ Participant participant }
	err := c.Call(context.Background(), "GetParticipant", map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": id}, &out)
	return out.Participant, err
}

// recordingState is the participant's recordingState, "" while it cannot be read.
func recordingState(c *servertest.Client, stageArn, session, id string) string {
	p, err := tryParticipant(c, stageArn, session, id)
	if err != nil {
		return ""
	}
	return p.RecordingState
}

func activeSession(t *testing.T, c *servertest.Client, stageArn string) string {
	t.Helper()
	var out struct{ Stage stageOut }
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Call(context.Background(), "GetStage", map[string]string{"arn": stageArn}, &out); err != nil {
			t.Fatalf("GetStage: %v", err)
		}
		if out.Stage.ActiveSessionID != "" {
			return out.Stage.ActiveSessionID
		}
		if time.Now().After(deadline) {
			t.Fatal("the stage has no active session")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// stateWatcher polls a participant's recordingState and keeps every distinct state seen.
type stateWatcher struct {
	mu   sync.Mutex
	seen []string
	last participant
	stop chan struct{}
	done chan struct{}
}

func watchStates(t *testing.T, c *servertest.Client, stageArn, session, id string) *stateWatcher {
	w := &stateWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() { // stopped by w.close
		defer close(w.done)
		for {
			var out struct{ Participant participant }
			err := c.Call(context.Background(), "GetParticipant", map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": id}, &out)
			if err == nil {
				w.mu.Lock()
				if n := len(w.seen); n == 0 || w.seen[n-1] != out.Participant.RecordingState {
					w.seen = append(w.seen, out.Participant.RecordingState)
				}
				w.last = out.Participant
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *stateWatcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *stateWatcher) states() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// poll fails t unless cond holds within d.
func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// objects is a recording downloaded to a directory: key (relative to the prefix) → path.
type objects struct {
	dir  string
	keys []string
}

func (o objects) has(key string) bool { return slices.Contains(o.keys, key) }

func (o objects) read(t testing.TB, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatalf("recording object %s: %v", key, err)
	}
	return b
}

// checkRecording checks a finished recording as an IVS user would, and returns its
// segment count. wantSeconds is the media published; thumbEvery the thumbnail interval.
func checkRecording(t *testing.T, o objects, ended bool, wantSeconds float64, target int, thumbEvery int) int {
	t.Helper()
	endKey := "events/recording-ended.json"
	if !ended {
		endKey = "events/recording-failed.json"
	}
	n, probe := checkHLS(t, o, endKey)
	if d := probe.duration(); d < wantSeconds-float64(target) || d > wantSeconds+float64(target) {
		t.Errorf("ffprobe duration %.2f s, want %.0f s within one segment (%d s)", d, wantSeconds, target)
	}
	checkThumbnails(t, o, wantSeconds, thumbEvery)
	return n
}

// checkHLS checks the recording's files and HLS: the playlist lists segments 1..n without a
// gap, each in the store, and ffprobe reads the multivariant playlist's H.264 video and
// Opus audio. It returns n and what ffprobe said.
func checkHLS(t *testing.T, o objects, endKey string) (int, probeOut) {
	t.Helper()
	for _, k := range []string{"events/recording-started.json", endKey, "media/hls/multivariant.m3u8", "media/hls/high/playlist.m3u8"} {
		if !o.has(k) {
			t.Fatalf("recording has no %s; it has %q", k, o.keys)
		}
	}
	pl := string(o.read(t, "media/hls/high/playlist.m3u8"))
	if !strings.HasSuffix(pl, "#EXT-X-ENDLIST\n") {
		t.Errorf("the playlist is not ended:\n%s", pl)
	}
	segs := regexp.MustCompile(`(?m)^(\d+)\.mp4$`).FindAllStringSubmatch(pl, -1)
	for i, m := range segs {
		if n, _ := strconv.Atoi(m[1]); n != i+1 {
			t.Fatalf("playlist segment %d is %s.mp4: a gap\n%s", i+1, m[1], pl)
		}
		if !o.has("media/hls/high/" + m[1] + ".mp4") {
			t.Fatalf("playlist lists %s.mp4, which is not in the store", m[1])
		}
		var parts fmp4.Parts // every segment starts on a keyframe
		if err := parts.Unmarshal(o.read(t, "media/hls/high/"+m[1]+".mp4")); err != nil || len(parts) == 0 {
			t.Fatalf("segment %s.mp4 is not fMP4: %v", m[1], err)
		}
		for _, tr := range parts[0].Tracks {
			if len(tr.Samples) == 0 || tr.Samples[0].IsNonSyncSample {
				t.Errorf("segment %s.mp4 track %d does not start on a keyframe", m[1], tr.ID)
			}
		}
	}
	for _, m := range regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindAllStringSubmatch(pl, -1) {
		if !o.has("media/hls/high/" + m[1]) {
			t.Fatalf("playlist maps %s, which is not in the store", m[1])
		}
	}
	probe := ffprobe(t, filepath.Join(o.dir, "media", "hls", "multivariant.m3u8"))
	t.Logf("playlist:\n%sffprobe: %.3f s, streams %+v", pl, probe.duration(), probe.Streams)
	v, a := probe.stream("video"), probe.stream("audio")
	if v == nil || v.CodecName != "h264" || v.Width != videoWidth || v.Height != videoHeight {
		t.Errorf("video stream %+v, want h264 %dx%d", v, videoWidth, videoHeight)
	}
	if a == nil || a.CodecName != "opus" {
		t.Errorf("audio stream %+v, want opus", a)
	}
	return len(segs), probe
}

// checkThumbnails: one sequential thumbnail per interval (within one), numbered from 1,
// each a JPEG of the video's size, and the latest thumbnail.
func checkThumbnails(t *testing.T, o objects, seconds float64, every int) {
	t.Helper()
	var thumbs int
	for _, k := range o.keys {
		if strings.HasPrefix(k, "media/thumbnails/high/") {
			thumbs++
			checkJPEG(t, k, o.read(t, k))
		}
	}
	if want := int(seconds) / every; thumbs < want-1 || thumbs > want+1 {
		t.Errorf("%d sequential thumbnails for %.0f s at one per %d s", thumbs, seconds, every)
	}
	for i := 1; i <= thumbs; i++ {
		if !o.has(fmt.Sprintf("media/thumbnails/high/%d.jpg", i)) {
			t.Errorf("thumbnail %d.jpg missing among %d", i, thumbs)
		}
	}
	if !o.has("media/latest_thumbnail/high/thumb.jpg") {
		t.Errorf("no latest thumbnail")
	} else {
		checkJPEG(t, "latest thumbnail", o.read(t, "media/latest_thumbnail/high/thumb.jpg"))
	}
}

func checkJPEG(t *testing.T, name string, b []byte) {
	t.Helper()
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s is not a JPEG: %v", name, err)
		return
	}
	if cfg.Width != videoWidth || cfg.Height != videoHeight {
		t.Errorf("%s is %dx%d, want %dx%d", name, cfg.Width, cfg.Height, videoWidth, videoHeight)
	}
}

// eventFile is a recording-started/ended/failed.json.
type eventFile struct {
	Version       string `json:"version"`
	StageArn      string `json:"stage_arn"`
	SessionID     string `json:"session_id"`
	ParticipantID string `json:"participant_id"`
	StartedAt     string `json:"recording_started_at"`
	EndedAt       string `json:"recording_ended_at"`
	Status        string `json:"recording_status"`
	StatusMessage string `json:"recording_status_message"`
	Media         struct {
		HLS *struct {
			DurationMs *int64 `json:"duration_ms"`
			Path       string `json:"path"`
			Playlist   string `json:"playlist"`
			Renditions []struct {
				Path     string `json:"path"`
				Playlist string `json:"playlist"`
			} `json:"renditions"`
		} `json:"hls"`
		Thumbnails *struct {
			Path       string `json:"path"`
			Renditions []struct {
				Path string `json:"path"`
			} `json:"renditions"`
		} `json:"thumbnails"`
		LatestThumbnail *struct {
			Path string `json:"path"`
		} `json:"latest_thumbnail"`
	} `json:"media"`
}

func readEvent(t *testing.T, o objects, key string) eventFile {
	t.Helper()
	var e eventFile
	if err := json.Unmarshal(o.read(t, key), &e); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return e
}

// checkEvents checks the recording event files' fields.
func checkEvents(t *testing.T, o objects, stageArn, session, participantID, endKey, endStatus string, wantSeconds float64) {
	t.Helper()
	started := readEvent(t, o, "events/recording-started.json")
	end := readEvent(t, o, endKey)
	for name, e := range map[string]eventFile{"started": started, "end": end} {
		if e.Version != "v1" || e.StageArn != stageArn || e.SessionID != session || e.ParticipantID != participantID {
			t.Errorf("%s event identifies %+v", name, e)
		}
		if _, err := time.Parse(time.RFC3339, e.StartedAt); err != nil {
			t.Errorf("%s event recording_started_at %q: %v", name, e.StartedAt, err)
		}
		if e.Media.HLS == nil || e.Media.HLS.Path != "media/hls" || e.Media.HLS.Playlist != "multivariant.m3u8" ||
			len(e.Media.HLS.Renditions) != 1 || e.Media.HLS.Renditions[0].Path != "high" || e.Media.HLS.Renditions[0].Playlist != "playlist.m3u8" {
			t.Errorf("%s event media.hls %+v", name, e.Media.HLS)
		}
		if e.Media.Thumbnails == nil || e.Media.Thumbnails.Path != "media/thumbnails" || e.Media.LatestThumbnail == nil || e.Media.LatestThumbnail.Path != "media/latest_thumbnail" {
			t.Errorf("%s event thumbnails %+v / %+v", name, e.Media.Thumbnails, e.Media.LatestThumbnail)
		}
	}
	if started.Status != "RECORDING_STARTED" || started.EndedAt != "" || started.Media.HLS.DurationMs != nil {
		t.Errorf("started event: status %q, ended at %q, duration %v", started.Status, started.EndedAt, started.Media.HLS.DurationMs)
	}
	if end.Status != endStatus {
		t.Errorf("end event status %q, want %q", end.Status, endStatus)
	}
	if _, err := time.Parse(time.RFC3339, end.EndedAt); err != nil {
		t.Errorf("end event recording_ended_at %q: %v", end.EndedAt, err)
	}
	if d := end.Media.HLS.DurationMs; d == nil || float64(*d)/1000 < wantSeconds-8 || float64(*d)/1000 > wantSeconds+8 {
		t.Errorf("end event duration_ms %v for %.0f s of media", d, wantSeconds)
	}
}

type probeOut struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []probeStream `json:"streams"`
}

type probeStream struct {
	CodecType string `json:"codec_type"`
	CodecName string `json:"codec_name"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

func (p probeOut) duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

func (p probeOut) stream(kind string) *probeStream {
	for i := range p.Streams {
		if p.Streams[i].CodecType == kind {
			return &p.Streams[i]
		}
	}
	return nil
}

// ffprobe runs Debian's ffprobe on a playlist.
func ffprobe(t *testing.T, playlist string) probeOut {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name,width,height",
		"-of", "json", playlist)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", playlist, err, stderr.String())
	}
	var p probeOut
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}
