package stage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/store"
)

type fixture struct {
	t     *testing.T
	svc   *Service
	db    *store.SQLite
	stage string
	stop  func()
}

// newFixture runs a Service on a real SQLite store with one stage.
func newFixture(t *testing.T, dir string, cfg Config) *fixture {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Region, cfg.Account = db, "us-east-1", "123456789012"
	svc := New(cfg)
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }() // stopped by f.stop
	f := &fixture{t: t, svc: svc, db: db}
	f.stop = func() { cancel(); <-done; db.Close() }
	t.Cleanup(func() { f.stop() })
	return f
}

func (f *fixture) newStage() string {
	st, _, err := f.svc.CreateStage(context.Background(), CreateStageParams{Name: "s"})
	if err != nil {
		f.t.Fatal(err)
	}
	return st.Arn
}

func (f *fixture) join(stageArn, id string, publish, subscribe bool, kick func(string)) *Conn {
	f.t.Helper()
	c, err := f.svc.Join(context.Background(), JoinParams{StageArn: stageArn, ParticipantID: id, UserID: "u-" + id,
		Publish: publish, Subscribe: subscribe, Protocol: "WHIP", Kick: kick,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"})
	if err != nil {
		f.t.Fatalf("join %s: %v", id, err)
	}
	return c
}

func (f *fixture) events(stageArn, session, id string) string {
	f.t.Helper()
	f.svc.Flush()
	evs, _, err := f.db.ListParticipantEvents(context.Background(), stageArn, session, id, store.Page{Max: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	s := ""
	for _, e := range evs {
		s += e.Name
		if e.ErrorCode != "" {
			s += "(" + e.ErrorCode + ")"
		}
		if e.RemoteParticipantID != "" {
			s += "@" + e.RemoteParticipantID
		}
		s += " "
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSessionLifecycleAndEvents(t *testing.T) {
	f := newFixture(t, t.TempDir(), Config{MaxPublishers: 2, SessionGracePeriod: 100 * time.Millisecond})
	ctx, st := context.Background(), f.newStage()
	if id := f.svc.ActiveSessionID(st); id != "" {
		t.Fatalf("idle stage has session %q", id)
	}
	_, changes, stopWatch, err := f.svc.Watch(st)
	if err != nil {
		t.Fatal(err)
	}
	defer stopWatch()

	alice := f.join(st, "alice", true, true, nil)
	session := f.svc.ActiveSessionID(st)
	if len(session) != 16 || session[:3] != "st-" || alice.SessionID() != session {
		t.Fatalf("session id %q", session)
	}
	if err := alice.StartPublish(ctx); err != nil {
		t.Fatal(err)
	}
	bob := f.join(st, "bob", true, true, nil)
	if err := bob.StartPublish(ctx); err != nil {
		t.Fatal(err)
	}
	carol := f.join(st, "carol", true, true, nil)
	if err := carol.StartPublish(ctx); !errors.Is(err, ErrPublisherLimit) {
		t.Fatalf("third publisher with a limit of 2: %v", err)
	}
	viewer := f.join(st, "viewer", false, true, nil)
	if err := viewer.StartPublish(ctx); !errors.Is(err, ErrInsufficientCapabilities) {
		t.Fatalf("subscribe-only publishing: %v", err)
	}
	if err := viewer.StartSubscribe(ctx, "carol"); !errors.Is(err, ErrPublisherNotFound) {
		t.Fatalf("subscribe to a non-publisher: %v", err)
	}
	if err := viewer.StartSubscribe(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Conn{alice, bob, carol, viewer} {
		c.Leave(ctx)
		c.Leave(ctx) // idempotent
	}
	waitFor(t, "the session to end after the grace period", func() bool { return f.svc.ActiveSessionID(st) == "" })

	for id, want := range map[string]string{
		"alice":  "JOINED PUBLISH_STARTED PUBLISH_STOPPED LEFT ",
		"carol":  "JOINED PUBLISH_ERROR(QUOTA_EXCEEDED) LEFT ",
		"viewer": "JOINED PUBLISH_ERROR(INSUFFICIENT_CAPABILITIES) SUBSCRIBE_ERROR(PUBLISHER_NOT_FOUND)@carol SUBSCRIBE_STARTED@alice SUBSCRIBE_STOPPED@alice LEFT ",
	} {
		if got := f.events(st, session, id); got != want {
			t.Errorf("events of %s = %q, want %q", id, got, want)
		}
	}
	sessions, _, _ := f.db.ListStageSessions(ctx, st, store.Page{Max: 10})
	if len(sessions) != 1 || sessions[0].EndTime == nil || sessions[0].EndTime.Before(sessions[0].StartTime) {
		t.Fatalf("sessions = %+v", sessions)
	}
	p, err := f.db.Participant(ctx, st, session, "alice")
	if err != nil || p.State != "DISCONNECTED" || !p.Published || p.BrowserName != "Chrome" || p.OSName != "Linux" || p.Protocol != "WHIP" {
		t.Fatalf("alice = %+v, %v", p, err)
	}
	published, _, _ := f.db.ListParticipants(ctx, st, session, store.ParticipantFilter{Published: true}, store.Page{Max: 10})
	if len(published) != 2 {
		t.Fatalf("participants who published: %d, want 2", len(published))
	}

	var order []string
	for len(order) < 8 {
		select {
		case c := <-changes:
			order = append(order, c.Type[len("PARTICIPANT_"):]+":"+c.Participant.ID)
		case <-time.After(2 * time.Second):
			t.Fatalf("changes so far: %v", order)
		}
	}
	want := "[JOINED:alice PUBLISH_STARTED:alice JOINED:bob PUBLISH_STARTED:bob JOINED:carol JOINED:viewer PUBLISH_STOPPED:alice LEFT:alice]"
	if fmt.Sprint(order) != want {
		t.Fatalf("changes = %v\nwant %s", order, want)
	}

	again := f.join(st, "alice", true, true, nil) // a new session after the old one ended
	if again.SessionID() == session {
		t.Fatalf("rejoin reused ended session %s", session)
	}
	again.Leave(ctx)
}

func TestDisconnectRevokesForGood(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir, Config{SessionGracePeriod: time.Hour})
	ctx, st := context.Background(), f.newStage()
	_, snapshotChanges, stopWatch, _ := f.svc.Watch(st)
	defer stopWatch()
	kicked := make(chan string, 2)
	var alice *Conn
	alice = f.join(st, "alice", true, true, func(reason string) {
		kicked <- reason
		go alice.Leave(context.Background()) // the connection owner closes, then leaves
	})
	f.join(st, "bob", true, true, nil)
	if err := f.svc.Disconnect(ctx, st, "alice", "bye"); err != nil {
		t.Fatal(err)
	}
	if r := <-kicked; r != ReasonDisconnected {
		t.Fatalf("kick reason %q", r)
	}
	for c := range snapshotChanges {
		if c.Type == ChangeLeft && c.Participant.ID == "alice" {
			if c.Reason != ReasonDisconnected {
				t.Fatalf("others heard alice left with reason %q", c.Reason)
			}
			break
		}
	}
	if _, err := f.svc.Join(ctx, JoinParams{StageArn: st, ParticipantID: "alice"}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("rejoin after disconnect: %v", err)
	}
	other := f.newStage() // revocation is per stage: the same jti may join another stage
	f.join(other, "alice", true, true, nil).Leave(ctx)
	if err := f.svc.Disconnect(ctx, st, "nobody", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disconnect an unknown participant: %v", err)
	}
	session := f.svc.ActiveSessionID(st)
	f.stop()

	// After a restart: the revocation holds, and the session bob was in has ended.
	f2 := newFixture(t, dir, Config{})
	if _, err := f2.svc.Join(ctx, JoinParams{StageArn: st, ParticipantID: "alice"}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("rejoin after restart: %v", err)
	}
	waitFor(t, "the previous run's session to be closed", func() bool {
		s, err := f2.db.StageSession(ctx, st, session)
		return err == nil && s.EndTime != nil
	})
	bob, _ := f2.db.Participant(ctx, st, session, "bob")
	if bob.State != "DISCONNECTED" {
		t.Fatalf("bob after restart: %+v", bob)
	}
	if got := f2.events(st, session, "bob"); got != "JOINED LEFT " {
		t.Fatalf("bob's events after restart: %q", got)
	}
}

func TestDeleteStageKicksEveryone(t *testing.T) {
	f := newFixture(t, t.TempDir(), Config{})
	ctx, st := context.Background(), f.newStage()
	_, changes, stop, _ := f.svc.Watch(st)
	defer stop()
	kicked := make(chan string, 1)
	f.join(st, "alice", true, true, func(r string) { kicked <- r })
	if err := f.svc.DeleteStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	if r := <-kicked; r != ReasonStageDeleted {
		t.Fatalf("kick reason %q", r)
	}
	var last Change
	for c := range changes { // closed after STAGE_DELETED
		last = c
	}
	if last.Type != ChangeStageDeleted || f.svc.ActiveSessionID(st) != "" {
		t.Fatalf("last change %+v", last)
	}
}

func TestSlowWatcherIsDropped(t *testing.T) {
	f := newFixture(t, t.TempDir(), Config{})
	ctx, st := context.Background(), f.newStage()
	_, changes, stop, _ := f.svc.Watch(st)
	defer stop()
	c := f.join(st, "alice", true, true, nil)
	for i := 0; i <= watcherBuffer; i++ {
		c.StartPublish(ctx)
		c.StopPublish(ctx)
	}
	n := 0
	for range changes {
		n++
	}
	if n != watcherBuffer {
		t.Fatalf("a watcher that never read got %d changes before being dropped, want %d", n, watcherBuffer)
	}
}

func TestParseUserAgent(t *testing.T) {
	tests := []struct{ ua, browser, version, os, osVersion string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge", "120.0.2210.91", "Windows", "10.0"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "Safari", "17.2", "Mac OS", "10.15.7"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome", "120.0.6099.119", "iOS", "17.2"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "Firefox", "121.0", "Android", "14"},
		{"Go-http-client/1.1", "", "", "", ""},
	}
	for _, tt := range tests {
		f := parseUserAgent(tt.ua)
		if f.browserName != tt.browser || f.browserVersion != tt.version || f.osName != tt.os || f.osVersion != tt.osVersion {
			t.Errorf("parseUserAgent(%q) = %+v", tt.ua, f)
		}
	}
}

// TestRefusePublish: a publish the media server refuses for its codecs is a PUBLISH_ERROR
// with the codec's code, and publishes nothing; a token without PUBLISH is refused for that.
func TestRefusePublish(t *testing.T) {
	f := newFixture(t, t.TempDir(), Config{})
	ctx, st := context.Background(), f.newStage()
	anchor := f.join(st, "anchor", true, true, nil) // keeps the session for the events below
	defer anchor.Leave(ctx)
	session := f.svc.ActiveSessionID(st)
	for _, tt := range []struct {
		name    string
		publish bool
		cause   error
		want    error
		events  string
	}{
		{"video", true, fmt.Errorf("offer: %w", ErrInvalidVideoCodec), ErrInvalidVideoCodec, "JOINED PUBLISH_ERROR(INVALID_VIDEO_CODEC) LEFT "},
		{"audio", true, fmt.Errorf("offer: %w", ErrInvalidAudioCodec), ErrInvalidAudioCodec, "JOINED PUBLISH_ERROR(INVALID_AUDIO_CODEC) LEFT "},
		{"viewer", false, ErrInvalidVideoCodec, ErrInsufficientCapabilities, "JOINED PUBLISH_ERROR(INSUFFICIENT_CAPABILITIES) LEFT "},
		{"other", true, ErrInvalid, ErrInvalid, "JOINED LEFT "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := f.join(st, tt.name, tt.publish, true, nil)
			if err := c.RefusePublish(ctx, tt.cause); !errors.Is(err, tt.want) {
				t.Errorf("RefusePublish: %v, want %v", err, tt.want)
			}
			c.Leave(ctx)
			if got := f.events(st, session, tt.name); got != tt.events {
				t.Errorf("events = %q, want %q", got, tt.events)
			}
			if p, err := f.db.Participant(ctx, st, session, tt.name); err != nil || p.Published {
				t.Errorf("participant = %+v, %v; want one that never published", p, err)
			}
		})
	}
}
