package rtc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

const testAccount = "arn:aws:ivs:us-east-1:123456789012:stage/"

// fakeStages is an in-memory stage domain behind rtc's own Stages seam: it enforces
// capabilities, a publisher limit and revocation, and records every call.
type fakeStages struct {
	mu            sync.Mutex      // guards every field below
	stages        map[string]bool // existing stage ids
	revoked       map[string]bool // participant ids refused for good
	publishing    map[string]int  // participant id -> publishing connections
	maxPublishers int
	members       []*fakeMember
	calls         []string // "verb participant[ detail]"
}

func newFakeStages(ids ...string) *fakeStages {
	f := &fakeStages{stages: map[string]bool{}, revoked: map[string]bool{}, publishing: map[string]int{}, maxPublishers: 12}
	for _, id := range ids {
		f.stages[id] = true
	}
	return f
}

func (f *fakeStages) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// saw reports whether a call was recorded.
func (f *fakeStages) saw(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, call)
}

func (f *fakeStages) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (f *fakeStages) stageExists(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stages[id] {
		return "", fmt.Errorf("stage %s: %w", id, stage.ErrNotFound)
	}
	return testAccount + id, nil
}

func (f *fakeStages) Join(_ context.Context, p stage.JoinParams) (Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strings.TrimPrefix(p.StageArn, testAccount)
	if !f.stages[id] {
		return nil, stage.ErrNotFound
	}
	if f.revoked[p.ParticipantID] {
		f.record("join-refused %s", p.ParticipantID)
		return nil, stage.ErrRevoked
	}
	f.record("join %s", p.ParticipantID)
	m := &fakeMember{f: f, p: p}
	f.members = append(f.members, m)
	return m, nil
}

// member returns the n-th connection a participant joined with (0 is the first).
func (f *fakeStages) member(t testing.TB, participantID string, n int) *fakeMember {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members {
		if m.p.ParticipantID == participantID {
			if n == 0 {
				return m
			}
			n--
		}
	}
	t.Fatalf("no connection %d of %s joined", n, participantID)
	return nil
}

// fakeMember is one joined connection.
type fakeMember struct {
	f          *fakeStages
	p          stage.JoinParams
	publishing bool // guarded by f.mu
	left       bool // guarded by f.mu
}

func (m *fakeMember) ParticipantID() string { return m.p.ParticipantID }

func (m *fakeMember) SessionID() string { return "st-fakesession01" }

func (m *fakeMember) StartPublish(context.Context) error {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if !m.p.Publish {
		f.record("publish-error %s INSUFFICIENT_CAPABILITIES", m.p.ParticipantID)
		return stage.ErrInsufficientCapabilities
	}
	if f.publishing[m.p.ParticipantID] == 0 && len(f.publishing) >= f.maxPublishers {
		f.record("publish-error %s QUOTA_EXCEEDED", m.p.ParticipantID)
		return stage.ErrPublisherLimit
	}
	f.publishing[m.p.ParticipantID]++
	m.publishing = true
	f.record("start-publish %s", m.p.ParticipantID)
	return nil
}

func (m *fakeMember) RefusePublish(_ context.Context, cause error) error {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if !m.p.Publish {
		f.record("publish-error %s INSUFFICIENT_CAPABILITIES", m.p.ParticipantID)
		return stage.ErrInsufficientCapabilities
	}
	code := "OTHER"
	switch {
	case errors.Is(cause, stage.ErrInvalidVideoCodec):
		code = "INVALID_VIDEO_CODEC"
	case errors.Is(cause, stage.ErrInvalidAudioCodec):
		code = "INVALID_AUDIO_CODEC"
	}
	f.record("publish-error %s %s", m.p.ParticipantID, code)
	return cause
}

func (m *fakeMember) StopPublish(context.Context) {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.publishing {
		m.publishing = false
		if f.publishing[m.p.ParticipantID]--; f.publishing[m.p.ParticipantID] == 0 {
			delete(f.publishing, m.p.ParticipantID)
		}
	}
	f.record("stop-publish %s", m.p.ParticipantID)
}

func (m *fakeMember) StartSubscribe(_ context.Context, pub string) error {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if !m.p.Subscribe {
		f.record("subscribe-error %s INSUFFICIENT_CAPABILITIES", m.p.ParticipantID)
		return stage.ErrInsufficientCapabilities
	}
	if f.publishing[pub] == 0 {
		f.record("subscribe-error %s PUBLISHER_NOT_FOUND", m.p.ParticipantID)
		return stage.ErrPublisherNotFound
	}
	f.record("start-subscribe %s %s", m.p.ParticipantID, pub)
	return nil
}

func (m *fakeMember) StopSubscribe(_ context.Context, pub string) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record("stop-subscribe %s %s", m.p.ParticipantID, pub)
}

func (m *fakeMember) Leave(context.Context) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	if !m.left {
		m.left = true
		m.f.record("leave %s", m.p.ParticipantID)
	}
}

func (m *fakeMember) hasLeft() bool {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	return m.left
}

// harness is a real SFU behind a real HTTP server, with a token issuer and a fake domain.
type harness struct {
	t       testing.TB
	sfu     *SFU
	srv     *httptest.Server
	issuer  *token.Issuer
	stages  *fakeStages
	stageID string
	whip    *whipClient
}

// newHarness starts everything for one test on free ports and checks, at cleanup, that
// every goroutine the test started has ended. edit adjusts the SFU's Config.
func newHarness(t testing.TB, edit ...func(*Config)) *harness {
	t.Helper()
	checkGoroutines(t)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer := token.NewIssuer(key)
	h := &harness{t: t, issuer: issuer, stages: newFakeStages("stageAAAAAAA", "stageBBBBBBB"), stageID: "stageAAAAAAA"}
	cfg := Config{
		Tokens:      token.NewVerifier(issuer, nil),
		Stages:      h.stages,
		StageExists: h.stages.stageExists,
		Logger:      testLogger(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	h.sfu, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.sfu.Handler())
	t.Cleanup(func() {
		h.srv.Close()
		if err := h.sfu.Close(); err != nil {
			t.Errorf("close sfu: %v", err)
		}
	})
	h.whip = &whipClient{t: t, http: h.srv.Client(), base: h.srv.URL}
	return h
}

// testLogger prints the SFU's logs when RTC_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("RTC_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tokenFor mints a token for a participant of a stage; edit adjusts the claims.
func (h *harness) tokenFor(stageID, participantID string, publish, subscribe bool, edit ...func(*token.Claims)) string {
	h.t.Helper()
	now := time.Now().Truncate(time.Second)
	c := token.Claims{
		ParticipantID: participantID,
		StageArn:      testAccount + stageID,
		StageID:       stageID,
		UserID:        "user-" + participantID,
		Attributes:    map[string]string{"role": "test"},
		Publish:       publish,
		Subscribe:     subscribe,
		EventsURL:     "ws://footlight.test/events",
		WhipURL:       h.srv.URL + "/whip/" + stageID,
		IssuedAt:      now.Add(-time.Minute),
		ExpiresAt:     now.Add(time.Hour),
	}
	for _, e := range edit {
		e(&c)
	}
	tok, err := h.issuer.Mint(c)
	if err != nil {
		h.t.Fatalf("mint token: %v", err)
	}
	return tok
}

// token mints a token for the harness's stage.
func (h *harness) token(participantID string, publish, subscribe bool) string {
	h.t.Helper()
	return h.tokenFor(h.stageID, participantID, publish, subscribe)
}

// checkGoroutines fails the test if, after every other cleanup, more goroutines run than
// before it started. Registered first, so it runs last.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		const slack = 2 // runtime and testing goroutines that come and go
		var now int
		ok := waitFor(10*time.Second, func() bool {
			now = runtime.NumGoroutine()
			return now <= before+slack
		})
		if !ok {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines: %d before the test, %d after\n%s", before, now, buf[:runtime.Stack(buf, true)])
		}
	})
}

// waitFor polls cond until it holds or the deadline passes; it never asserts a timing.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// eventually fails the test if cond does not hold within d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitFor(d, cond) {
		t.Fatalf("%s: not within %v", what, d)
	}
}
