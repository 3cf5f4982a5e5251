// Package browser_test drives Footlight's console, its operators' page and its JavaScript
// client in real Chromium (Debian's /usr/bin/chromium, driven by the pinned playwright-core in
// package.json), against a real server started in process. Nothing is faked but the camera
// and microphone (Chromium's own fake devices). A missing browser or package fails the test
// with what to install; nothing is skipped.
package browser_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// playwrightVersion is the playwright-core pinned in package.json and package-lock.json.
const playwrightVersion = "1.65.1"

// scriptTimeout bounds one scenario's node process.
const scriptTimeout = 4 * time.Minute

// chromium is the browser the scenarios launch: Debian's, never one playwright downloads.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("FOOTLIGHT_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Chromium is not installed at %s (%v): apt-get install chromium (scripts/test.sh does)", p, err)
	}
	return p
}

// requirePlaywright fails t unless node_modules holds the pinned playwright-core.
func requirePlaywright(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH (%v): apt-get install nodejs npm (scripts/test.sh does)", err)
	}
	b, err := os.ReadFile("node_modules/playwright-core/package.json")
	if err != nil {
		t.Fatalf("playwright-core is not installed (%v): run npm ci in test/browser (scripts/test.sh does)", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != playwrightVersion {
		t.Fatalf("node_modules has playwright-core %q, want %s: run npm ci in test/browser", pkg.Version, playwrightVersion)
	}
}

// artifacts is the directory screenshots go to: test-artifacts/browser at the repository's
// root (gitignored), kept after the test for people and CI to look at.
func artifacts(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// event is one "@@ {json}" line of a scenario.
type event struct {
	Event   string `json:"event"`
	Message string `json:"message"`
	raw     []byte
}

// decode unmarshals the whole event into v.
func (e event) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(e.raw, v); err != nil {
		t.Fatalf("decode %s event: %v (%s)", e.Event, err, e.raw)
	}
}

// scenario is one running node script: events come from its stdout, commands go to its stdin.
type scenario struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  *json.Encoder
	events chan event
	exited chan error
	cancel context.CancelFunc

	mu  sync.Mutex // guards log
	log bytes.Buffer
}

// startScenario runs `node <script>` with cfg (plus the Chromium path) as its configuration.
// It is killed at cleanup if still running, and its log is printed if the test failed.
func startScenario(t *testing.T, script string, cfg map[string]any) *scenario {
	t.Helper()
	requirePlaywright(t)
	cfg["chromium"] = chromium(t)
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "FOOTLIGHT_BROWSER_CONFIG="+string(raw))
	s := &scenario{t: t, name: script, cmd: cmd, events: make(chan event, 64), exited: make(chan error, 1), cancel: cancel}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = json.NewEncoder(stdin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = (*logWriter)(s)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node %s: %v", script, err)
	}
	go s.read(stdout)                      // ends when the process's stdout closes
	go func() { s.exited <- cmd.Wait() }() // ends when the process exits (killed by cancel at worst)
	t.Cleanup(func() {
		cancel()
		<-s.exited
		if t.Failed() {
			s.mu.Lock()
			t.Logf("%s log:\n%s", script, s.log.String())
			s.mu.Unlock()
		}
	})
	return s
}

// logWriter collects a scenario's stderr.
type logWriter scenario

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

func (s *scenario) read(stdout interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "@@ ")
		if !ok {
			(*logWriter)(s).Write([]byte(line + "\n"))
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(rest), &e); err != nil {
			(*logWriter)(s).Write([]byte("bad event line: " + line + "\n"))
			continue
		}
		e.raw = []byte(rest)
		s.events <- e
	}
	close(s.events)
}

// expect waits for the scenario's next event and fails t unless it is `name`: a "fail" event
// carries the scenario's error, and an exit before the event fails too.
func (s *scenario) expect(name string) event {
	s.t.Helper()
	e, ok := <-s.events
	switch {
	case !ok:
		err := <-s.exited
		s.exited <- err
		s.t.Fatalf("%s exited (%v) before %q", s.name, err, name)
	case e.Event == "fail":
		s.t.Fatalf("%s failed before %q:\n%s", s.name, name, e.Message)
	case e.Event != name:
		s.t.Fatalf("%s sent %q, want %q: %s", s.name, e.Event, name, e.raw)
	}
	return e
}

// send gives the scenario a command: {"cmd": name, ...fields}.
func (s *scenario) send(name string, fields map[string]any) {
	s.t.Helper()
	msg := map[string]any{"cmd": name}
	for k, v := range fields {
		msg[k] = v
	}
	if err := s.stdin.Encode(msg); err != nil {
		s.t.Fatalf("send %s to %s: %v", name, s.name, err)
	}
}

// finish waits for the scenario's "done" and its clean exit.
func (s *scenario) finish() {
	s.t.Helper()
	s.expect("done")
	if err := <-s.exited; err != nil {
		s.exited <- err
		s.t.Fatalf("%s exited with %v", s.name, err)
	}
	s.exited <- nil
}

// token is one participant token from CreateStage or CreateParticipantToken.
type token struct {
	ParticipantID string            `json:"participantId"`
	UserID        string            `json:"userId"`
	Token         string            `json:"token"`
	Attributes    map[string]string `json:"attributes"`
	Capabilities  []string          `json:"capabilities"`
}

// stage is what CreateStage returns of a stage.
type stage struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ActiveSessionID string            `json:"activeSessionId"`
	Endpoints       map[string]string `json:"endpoints"`
}

// tokenConfig is one participantTokenConfiguration.
type tokenConfig struct {
	UserID       string            `json:"userId"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	Capabilities []string          `json:"capabilities,omitempty"`
}

// createStage makes a stage named name with one token per config, in order.
func createStage(t *testing.T, c *servertest.Client, name string, cfgs ...tokenConfig) (stage, []token) {
	t.Helper()
	var out struct {
		Stage             stage   `json:"stage"`
		ParticipantTokens []token `json:"participantTokens"`
	}
	in := map[string]any{"name": name, "participantTokenConfigurations": cfgs}
	if err := c.Call(context.Background(), "CreateStage", in, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if len(out.ParticipantTokens) != len(cfgs) {
		t.Fatalf("CreateStage returned %d tokens for %d configurations", len(out.ParticipantTokens), len(cfgs))
	}
	return out.Stage, out.ParticipantTokens
}

// participant is what GetParticipant and ListParticipants say of one participant.
type participant struct {
	ParticipantID string `json:"participantId"`
	UserID        string `json:"userId"`
	State         string `json:"state"`
	Published     bool   `json:"published"`
}

// activeSession returns the stage's running session id, failing if it has none.
func activeSession(t *testing.T, c *servertest.Client, stageArn string) string {
	t.Helper()
	var got struct{ Stage stage }
	if err := c.Call(context.Background(), "GetStage", map[string]string{"arn": stageArn}, &got); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if got.Stage.ActiveSessionID == "" {
		t.Fatalf("stage %s has no active session", stageArn)
	}
	return got.Stage.ActiveSessionID
}

// getParticipant is GetParticipant.
func getParticipant(t *testing.T, c *servertest.Client, stageArn, session, id string) participant {
	t.Helper()
	var out struct{ Participant participant }
	in := map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": id}
	if err := c.Call(context.Background(), "GetParticipant", in, &out); err != nil {
		t.Fatalf("GetParticipant(%s): %v", id, err)
	}
	return out.Participant
}

// listParticipants is ListParticipants of one session (one page: the tests have few).
func listParticipants(t *testing.T, c *servertest.Client, stageArn, session string) []participant {
	t.Helper()
	var out struct{ Participants []participant }
	in := map[string]string{"stageArn": stageArn, "sessionId": session}
	if err := c.Call(context.Background(), "ListParticipants", in, &out); err != nil {
		t.Fatalf("ListParticipants: %v", err)
	}
	return out.Participants
}

// poll fails t unless cond holds within d.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// waitEvent polls a participant's events (ListParticipantEvents) until one has this name and
// error code ("" for none). Events are persisted off the request's path, so they may lag.
func waitEvent(t *testing.T, c *servertest.Client, stageArn, session, participantID, name, code string) {
	t.Helper()
	type participantEvent struct {
		Name      string  `json:"name"`
		ErrorCode *string `json:"errorCode"`
	}
	var last []participantEvent
	poll(t, 10*time.Second, participantID+" "+name+" "+code+" event", func() bool {
		var out struct{ Events []participantEvent }
		in := map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": participantID}
		if err := c.Call(context.Background(), "ListParticipantEvents", in, &out); err != nil {
			t.Fatalf("ListParticipantEvents(%s): %v", participantID, err)
		}
		last = out.Events
		for _, e := range last {
			if e.Name == name && (code == "" && e.ErrorCode == nil || e.ErrorCode != nil && *e.ErrorCode == code) {
				return true
			}
		}
		return false
	})
}
