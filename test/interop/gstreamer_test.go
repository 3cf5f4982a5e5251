package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// python is Debian's interpreter, the one python3-gst-1.0 installs the gi bindings for (the
// python3 first on PATH may be another without them).
const python = "/usr/bin/python3"

// gstPackages is what scripts/test.sh installs for this test.
const gstPackages = "python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-good " +
	"gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice"

// requireGStreamer fails the test, naming the Debian packages, when the GStreamer Python
// bindings or the elements the publisher script uses are missing.
func requireGStreamer(t *testing.T) {
	t.Helper()
	const probe = `import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstWebRTC, GstSdp
Gst.init(None)
missing = [n for n in ("webrtcbin", "nicesrc", "videotestsrc", "x264enc", "h264parse", "rtph264pay",
                       "audiotestsrc", "opusenc", "rtpopuspay") if Gst.ElementFactory.find(n) is None]
if missing: raise SystemExit("missing GStreamer elements: " + ", ".join(missing))
`
	out, err := exec.Command(python, "-c", probe).CombinedOutput()
	if err != nil {
		t.Fatalf("GStreamer for Python is not usable (%v): %s\ninstall the Debian packages: apt-get install %s",
			err, bytes.TrimSpace(out), gstPackages)
	}
}

// lineWriter collects a process's output; line finds a line by its prefix.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.lines = w.lines[:0]
	sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
	for sc.Scan() {
		w.lines = append(w.lines, sc.Text())
	}
	return len(p), nil
}

// line returns the first complete line starting with prefix, if any.
func (w *lineWriter) line(prefix string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestGStreamerPublisher: GStreamer's webrtcbin, driven by a small Python WHIP client, publishes
// H.264 (x264enc, constrained baseline) and Opus to a stage's WHIP endpoint with a token from
// CreateStage; a pion viewer subscribing to that participant receives both, the video from a
// keyframe on.
func TestGStreamerPublisher(t *testing.T) {
	requireGStreamer(t)
	s := servertest.Start(t, nil)
	st, toks := newStage(t, s, "gstreamer", "viewer")
	pub, viewer := toks[0], toks[1]

	const seconds = 8 // how long the script streams once connected
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr lineWriter
	cmd := exec.CommandContext(ctx, python, "gst_whip_publish.py", st.Endpoints.WHIP, pub.Token, strconv.Itoa(seconds))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s gst_whip_publish.py: %v", python, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			cancel()
			<-done
		}
	})

	// The publish exists once the POST is answered: wait for the script to say so.
	published := waitFor(20*time.Second, func() bool {
		select {
		case err := <-done:
			exited = true
			t.Fatalf("gst_whip_publish.py exited before publishing: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		default:
		}
		_, ok := stdout.line("published ")
		return ok
	})
	if !published {
		t.Fatalf("gst_whip_publish.py did not publish within 20 s\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}

	sub := whiptest.Subscribe(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), st.Endpoints.WHIP, pub.ParticipantID, viewer.Token)
	const wantVideo, wantAudio = 30, 20
	got := waitFor(15*time.Second, func() bool {
		v, a := sub.Snapshot()
		return len(v.Seqs) >= wantVideo && v.Keyframe && len(a.Seqs) >= wantAudio
	})
	v, a := sub.Snapshot()
	if !got {
		t.Fatalf("the viewer got %d video packets (%s, keyframe %v) and %d audio packets (%s) from GStreamer; want >= %d with a keyframe and >= %d\npc %s\nscript stdout:\n%s\nstderr:\n%s",
			len(v.Seqs), v.Mime, v.Keyframe, len(a.Seqs), a.Mime, wantVideo, wantAudio, sub.PC.ConnectionState(), &stdout, &stderr)
	}
	if !strings.EqualFold(v.Mime, webrtc.MimeTypeH264) || !strings.EqualFold(a.Mime, webrtc.MimeTypeOpus) {
		t.Fatalf("the viewer's tracks are %q and %q, want H.264 and Opus", v.Mime, a.Mime)
	}
	t.Logf("from GStreamer: %d H.264 packets (keyframe seen), %d Opus packets", len(v.Seqs), len(a.Seqs))

	// The script streams for its time, leaves with DELETE and exits 0.
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("gst_whip_publish.py: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		}
	case <-time.After(seconds*time.Second + 20*time.Second):
		t.Fatalf("gst_whip_publish.py still running %d s after it should have ended\nstdout:\n%s\nstderr:\n%s", seconds+20, &stdout, &stderr)
	}
	if _, ok := stdout.line("connected"); !ok {
		t.Fatalf("gst_whip_publish.py never reported its peer connection connected\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	// The server closes the subscription when the publisher leaves.
	if !waitFor(10*time.Second, func() bool {
		st := sub.PC.ConnectionState()
		return st == webrtc.PeerConnectionStateClosed || st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateDisconnected
	}) {
		t.Fatalf("the viewer's connection is still %s 10 s after the GStreamer publisher left", sub.PC.ConnectionState())
	}
}
