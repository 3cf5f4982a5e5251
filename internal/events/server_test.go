package events

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

const (
	testStageID  = "abcdABCDefgh"
	testStageArn = "arn:aws:ivs:us-east-1:123456789012:stage/" + testStageID
)

// env is a real events Server behind httptest, with a real token issuer and fake Stages.
type env struct {
	issuer *token.Issuer
	stages *fakeStages
	srv    *Server
	ts     *httptest.Server
	logs   *lockedBuffer
}

type envOption func(*Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{issuer: token.NewIssuer(key), stages: newFakeStages(), logs: &lockedBuffer{}}
	e.stages.addStage(testStageArn, stage.ParticipantView{ID: "already-here", UserID: "u0", IsPublishing: true})
	cfg := Config{
		Tokens: token.NewVerifier(e.issuer, nil),
		Stages: e.stages,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = New(cfg)
	mux := http.NewServeMux()
	mux.Handle(Path, e.srv)
	mux.Handle(Path+"/", e.srv)
	e.ts = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.Close()
		e.ts.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", e.logs.String())
		}
	})
	return e
}

// claims are a participant's claims on the test stage, valid for an hour.
func (e *env) claims(participantID string) token.Claims {
	now := time.Now().Truncate(time.Second)
	return token.Claims{
		ParticipantID: participantID,
		StageArn:      testStageArn,
		StageID:       testStageID,
		UserID:        "user-" + participantID,
		Attributes:    map[string]string{"displayName": participantID},
		Publish:       true,
		Subscribe:     true,
		EventsURL:     "ws" + strings.TrimPrefix(e.ts.URL, "http") + Path,
		WhipURL:       e.ts.URL + "/whip",
		IssuedAt:      now.Add(-time.Minute),
		ExpiresAt:     now.Add(time.Hour),
	}
}

func (e *env) mint(t testing.TB, c token.Claims) string {
	t.Helper()
	tok, err := e.issuer.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dial connects as IVS clients do: events_url + "/" + topic, the token as the subprotocol.
func (e *env) dial(t testing.TB, participantID string) (*websocket.Conn, string) {
	t.Helper()
	tok := e.mint(t, e.claims(participantID))
	c, resp, err := e.dialWith(tok, Path+"/"+testStageID, true, nil)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c, tok
}

// dialWith connects to path with tok as the subprotocol (viaProtocol) or as ?token=.
func (e *env) dialWith(tok, path string, viaProtocol bool, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPClient = e.ts.Client()
	u := e.ts.URL + path
	if viaProtocol {
		opts.Subprotocols = []string{tok}
	} else if tok != "" {
		u += "?token=" + url.QueryEscape(tok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return websocket.Dial(ctx, u, opts)
}

// message is any server message, decoded for checks; raw keeps the bytes.
type message struct {
	Type    string `json:"type"`
	Payload struct {
		StageID      string                  `json:"stageId"`
		Participants []stage.ParticipantView `json:"participants"`
		Participant  *stage.ParticipantView  `json:"participant"`
		Reason       string                  `json:"reason"`
		Time         string                  `json:"time"`
	} `json:"payload"`
	raw string
}

func read(t testing.TB, c *websocket.Conn) message {
	t.Helper()
	m, err := tryRead(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func tryRead(c *websocket.Conn) (message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		return message{}, err
	}
	var m message
	if typ != websocket.MessageText {
		return m, errors.New("binary message")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	m.raw = string(b)
	return m, nil
}

// readClose reads until the server closes and returns its close frame; messages before it
// are returned too.
func readClose(t testing.TB, c *websocket.Conn) (websocket.CloseError, []message) {
	t.Helper()
	var msgs []message
	for {
		m, err := tryRead(c)
		if err == nil {
			msgs = append(msgs, m)
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce, msgs
	}
}

func write(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestTokenAsSubprotocol(t *testing.T) {
	e := newEnv(t)
	tok := e.mint(t, e.claims("alice"))
	c, resp, err := e.dialWith(tok, Path+"/"+testStageID, true, &websocket.DialOptions{
		HTTPHeader: http.Header{"User-Agent": {"test-agent/1.0"}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tok {
		t.Errorf("echoed protocol = %.20q…, want the token", got)
	}
	if c.Subprotocol() != tok {
		t.Errorf("Subprotocol() is not the token")
	}

	m := read(t, c)
	if m.Type != TypeStageState || m.Payload.StageID != testStageID {
		t.Fatalf("first message = %s, want STAGE_STATE of %s", m.raw, testStageID)
	}
	want := []stage.ParticipantView{
		{ID: "already-here", UserID: "u0", Attributes: map[string]string{}, IsPublishing: true},
		{ID: "alice", UserID: "user-alice", Attributes: map[string]string{"displayName": "alice"}},
	}
	if !equalViews(m.Payload.Participants, want) {
		t.Errorf("participants = %+v, want %+v", m.Payload.Participants, want)
	}
	if !strings.Contains(m.raw, `"attributes":{}`) {
		t.Errorf("nil attributes not sent as {}: %s", m.raw)
	}

	p := e.stages.member(t, "alice").params
	if p.StageArn != testStageArn || p.UserID != "user-alice" || !p.Publish || !p.Subscribe ||
		p.Protocol != "" || p.UserAgent != "test-agent/1.0" || p.Attributes["displayName"] != "alice" || p.Kick == nil {
		t.Errorf("join params = %+v", p)
	}

	c.Close(websocket.StatusNormalClosure, "")
	e.stages.member(t, "alice").waitLeft(t)
	if strings.Contains(e.logs.String(), tok) {
		t.Error("the token appears in the logs")
	}
	if !strings.Contains(e.logs.String(), "participant_id=alice") || !strings.Contains(e.logs.String(), "component=events") {
		t.Errorf("logs lack component or participant_id:\n%s", e.logs.String())
	}
}

func TestTokenInQuery(t *testing.T) {
	e := newEnv(t)
	tok := e.mint(t, e.claims("bob"))
	for _, path := range []string{Path, Path + "/", Path + "/" + testStageID} {
		t.Run(path, func(t *testing.T) {
			c, _, err := e.dialWith(tok, path, false, nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.CloseNow()
			if c.Subprotocol() != "" {
				t.Errorf("Subprotocol() = %q, want none", c.Subprotocol())
			}
			if m := read(t, c); m.Type != TypeStageState {
				t.Fatalf("first message = %s", m.raw)
			}
		})
	}
}

func TestChangesInOrder(t *testing.T) {
	e := newEnv(t)
	c, _ := e.dial(t, "carol")
	read(t, c) // STAGE_STATE
	e.stages.lastWatch(t, testStageArn)

	at := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.FixedZone("CET", 3600))
	dave := stage.ParticipantView{ID: "dave", UserID: "u-dave", Attributes: map[string]string{"k": "v"}}
	changes := []stage.Change{
		{Type: stage.ChangeJoined, Participant: dave, Time: at},
		{Type: stage.ChangePublishStarted, Participant: withPublishing(dave, true), Time: at},
		{Type: stage.ChangePublishStopped, Participant: dave, Time: at},
		{Type: stage.ChangeLeft, Participant: dave, Reason: stage.ReasonDisconnected, Time: at},
		{Type: stage.ChangeJoined, Participant: stage.ParticipantView{ID: "erin"}, Time: at},
	}
	for _, ch := range changes {
		e.stages.emit(testStageArn, ch)
	}
	for i, want := range changes {
		m := read(t, c)
		if m.Type != want.Type || m.Payload.StageID != testStageID || m.Payload.Reason != want.Reason ||
			m.Payload.Time != "2026-01-02T02:04:05.678Z" || m.Payload.Participant == nil ||
			!equalViews([]stage.ParticipantView{*m.Payload.Participant}, []stage.ParticipantView{withAttributes(want.Participant)}) {
			t.Errorf("message %d = %s, want %+v", i, m.raw, want)
		}
		if want.Reason == "" && strings.Contains(m.raw, `"reason"`) {
			t.Errorf("message %d has an empty reason: %s", i, m.raw)
		}
	}
}

func TestPingPong(t *testing.T) {
	e := newEnv(t)
	c, _ := e.dial(t, "frank")
	read(t, c) // STAGE_STATE
	write(t, c, `not json`)
	write(t, c, `{"type":"HELLO"}`)
	write(t, c, `{"type":"PING"}`)
	if m := read(t, c); m.raw != `{"type":"PONG"}` {
		t.Fatalf("answer to PING = %s", m.raw)
	}
	write(t, c, `{"type":"PING"}`)
	if m := read(t, c); m.Type != TypePong {
		t.Fatalf("answer to the second PING = %s", m.raw)
	}
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	e := newEnv(t)
	e.stages.revoke("revoked")
	expired := e.claims("expired")
	expired.IssuedAt, expired.ExpiresAt = expired.IssuedAt.Add(-2*time.Hour), expired.ExpiresAt.Add(-2*time.Hour)
	otherStage := e.claims("elsewhere")
	otherStage.StageArn, otherStage.StageID = "arn:aws:ivs:us-east-1:123456789012:stage/unknownStage", "unknownStage"
	tests := []struct {
		name        string
		tok         string
		path        string
		viaProtocol bool
		status      int
	}{
		{"expired", e.mint(t, expired), Path + "/" + testStageID, true, http.StatusUnauthorized},
		{"expired in query", e.mint(t, expired), Path, false, http.StatusUnauthorized},
		{"malformed", "not-a-token", Path + "/" + testStageID, true, http.StatusUnauthorized},
		{"bad signature", e.mint(t, e.claims("sig"))[:20] + "x.y.z", Path, false, http.StatusUnauthorized},
		{"no token", "", Path, false, http.StatusUnauthorized},
		{"wrong stage", e.mint(t, e.claims("wrong")), Path + "/otherStage12", true, http.StatusForbidden},
		{"revoked", e.mint(t, e.claims("revoked")), Path + "/" + testStageID, true, http.StatusForbidden},
		{"unknown stage", e.mint(t, otherStage), Path, false, http.StatusNotFound},
		{"deep path", e.mint(t, e.claims("deep")), Path + "/" + testStageID + "/more", true, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := e.dialWith(tt.tok, tt.path, tt.viaProtocol, nil)
			if err == nil {
				c.CloseNow()
				t.Fatal("upgraded")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("response = %v (err %v), want %d", resp, err, tt.status)
			}
		})
	}
	for _, id := range []string{"expired", "wrong", "deep"} {
		if e.stages.joined(id) {
			t.Errorf("%s joined though refused", id)
		}
	}

	resp, err := e.ts.Client().Get(e.ts.URL + Path + "?token=" + url.QueryEscape(e.mint(t, e.claims("plain"))))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || e.stages.joined("plain") {
		t.Errorf("plain GET: status %d, joined %v; want 426 and no join", resp.StatusCode, e.stages.joined("plain"))
	}
}

func TestKickClosesWithReason(t *testing.T) {
	tests := []struct {
		reason string
		code   websocket.StatusCode
	}{
		{stage.ReasonDisconnected, 4010},
		{stage.ReasonStageDeleted, 4009},
		{stage.ReasonReplaced, 4011},
		{"SOMETHING_NEW", 4000},
	}
	e := newEnv(t)
	for i, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			id := "kicked-" + string(rune('a'+i))
			c, _ := e.dial(t, id)
			read(t, c) // STAGE_STATE
			w := e.stages.lastWatch(t, testStageArn)
			m := e.stages.member(t, id)
			// A change queued just before the kick still reaches the client, first.
			w.send(stage.Change{Type: stage.ChangeLeft, Participant: stage.ParticipantView{ID: "x"}, Reason: tt.reason, Time: time.Now()})
			m.params.Kick(tt.reason)
			m.params.Kick("TWICE") // only the first counts

			ce, msgs := readClose(t, c)
			if ce.Code != tt.code || ce.Reason != tt.reason {
				t.Errorf("close = %d %q, want %d %q", ce.Code, ce.Reason, tt.code, tt.reason)
			}
			if len(msgs) != 1 || msgs[0].Type != stage.ChangeLeft {
				t.Errorf("messages before the close = %+v, want the queued LEFT", msgs)
			}
			m.waitLeft(t)
			w.waitStopped(t)
		})
	}
}

func TestClientCloseLeaves(t *testing.T) {
	e := newEnv(t)
	c, _ := e.dial(t, "gina")
	read(t, c)
	w := e.stages.lastWatch(t, testStageArn)
	m := e.stages.member(t, "gina")
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	m.waitLeft(t)
	w.waitStopped(t)
}

func TestWatchClosed(t *testing.T) {
	e := newEnv(t)

	t.Run("lagged", func(t *testing.T) {
		c, _ := e.dial(t, "lagger")
		read(t, c)
		w := e.stages.lastWatch(t, testStageArn)
		w.closeCh()
		ce, _ := readClose(t, c)
		if ce.Code != CloseLagged || ce.Reason != ReasonLagged {
			t.Errorf("close = %d %q, want %d %q", ce.Code, ce.Reason, CloseLagged, ReasonLagged)
		}
		e.stages.member(t, "lagger").waitLeft(t)
		w.waitStopped(t)
	})

	t.Run("stage deleted", func(t *testing.T) {
		c, _ := e.dial(t, "deleted")
		read(t, c)
		w := e.stages.lastWatch(t, testStageArn)
		w.send(stage.Change{Type: stage.ChangeStageDeleted, Time: time.Now()})
		w.closeCh()
		ce, msgs := readClose(t, c)
		if ce.Code != CloseStageDeleted || ce.Reason != stage.ReasonStageDeleted {
			t.Errorf("close = %d %q, want %d %q", ce.Code, ce.Reason, CloseStageDeleted, stage.ReasonStageDeleted)
		}
		if len(msgs) != 1 || msgs[0].Type != stage.ChangeStageDeleted || strings.Contains(msgs[0].raw, `"participant"`) {
			t.Errorf("messages before the close = %+v, want one STAGE_DELETED without participant", msgs)
		}
		e.stages.member(t, "deleted").waitLeft(t)
	})
}

func TestKeepalive(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PingInterval = 20 * time.Millisecond })

	t.Run("answering peer stays", func(t *testing.T) {
		var pings atomic.Int32
		tok := e.mint(t, e.claims("alive"))
		c, _, err := e.dialWith(tok, Path, true, &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
		})
		if err != nil {
			t.Fatal(err)
		}
		readDone := make(chan struct{})
		go func() { // reads, so pongs go out; ends when c closes
			defer close(readDone)
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		waitFor(t, "three server pings", func() bool { return pings.Load() >= 3 })
		if e.stages.member(t, "alive").hasLeft() {
			t.Error("a peer answering pings was dropped")
		}
		c.CloseNow()
		<-readDone
	})

	t.Run("silent peer dropped", func(t *testing.T) {
		_, _ = e.dial(t, "silent") // never reads, so never answers a ping
		e.stages.member(t, "silent").waitLeft(t)
	})
}

func TestCloseEndsEverything(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		e := newEnv(t)
		var conns []*websocket.Conn
		for _, id := range []string{"p1", "p2", "p3"} {
			c, _ := e.dial(t, id)
			read(t, c)
			conns = append(conns, c)
		}
		var wg sync.WaitGroup
		closes := make([]websocket.CloseError, len(conns))
		for i, c := range conns {
			wg.Go(func() { closes[i], _ = readClose(t, c) })
		}
		e.srv.Close()
		for _, id := range []string{"p1", "p2", "p3"} {
			if !e.stages.member(t, id).hasLeft() {
				t.Errorf("%s has not left when Close returned", id)
			}
		}
		wg.Wait()
		for i, ce := range closes {
			if ce.Code != CloseShutdown || ce.Reason != ReasonShutdown {
				t.Errorf("conn %d closed with %d %q, want %d %q", i, ce.Code, ce.Reason, CloseShutdown, ReasonShutdown)
			}
		}
		_, resp, err := e.dialWith(e.mint(t, e.claims("late")), Path, true, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("dial after Close: %v, %v; want 503", resp, err)
		}
		for _, c := range conns {
			c.CloseNow()
		}
		e.ts.Close()
	}()
	waitFor(t, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline+2
	})
}

func equalViews(got, want []stage.ParticipantView) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}

func withPublishing(p stage.ParticipantView, on bool) stage.ParticipantView {
	p.IsPublishing = on
	return p
}

// lockedBuffer collects logs from every connection goroutine.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
