package events

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/stage"
)

// fakeStages is an in-memory Stages the tests drive: they emit changes, kick members and
// close watches, and it records every Join, Leave and stop.
type fakeStages struct {
	mu      sync.Mutex                         // guards everything below
	stages  map[string][]stage.ParticipantView // stage ARN → participants now
	revoked map[string]bool                    // participant ids refused with ErrRevoked
	members map[string]*fakeMember             // participant id → its latest Join
	watches map[string][]*fakeWatch            // stage ARN → every watch, stopped or not
}

func newFakeStages() *fakeStages {
	return &fakeStages{
		stages:  map[string][]stage.ParticipantView{},
		revoked: map[string]bool{},
		members: map[string]*fakeMember{},
		watches: map[string][]*fakeWatch{},
	}
}

// addStage makes a stage exist with these participants already on it.
func (f *fakeStages) addStage(arn string, participants ...stage.ParticipantView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stages[arn] = participants
}

func (f *fakeStages) revoke(participantID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[participantID] = true
}

func (f *fakeStages) Join(_ context.Context, p stage.JoinParams) (Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	participants, ok := f.stages[p.StageArn]
	if !ok {
		return nil, fmt.Errorf("join %s: %w", p.StageArn, stage.ErrNotFound)
	}
	if f.revoked[p.ParticipantID] {
		return nil, fmt.Errorf("join %s as %s: %w", p.StageArn, p.ParticipantID, stage.ErrRevoked)
	}
	m := &fakeMember{params: p, left: make(chan struct{})}
	f.members[p.ParticipantID] = m
	f.stages[p.StageArn] = append(participants, stage.ParticipantView{
		ID: p.ParticipantID, UserID: p.UserID, Attributes: p.Attributes,
	})
	return m, nil
}

func (f *fakeStages) Watch(arn string) ([]stage.ParticipantView, <-chan stage.Change, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	participants, ok := f.stages[arn]
	if !ok {
		return nil, nil, nil, fmt.Errorf("watch %s: %w", arn, stage.ErrNotFound)
	}
	w := &fakeWatch{ch: make(chan stage.Change, 64), stopped: make(chan struct{})}
	f.watches[arn] = append(f.watches[arn], w)
	return append([]stage.ParticipantView(nil), participants...), w.ch, w.stop, nil
}

// emit sends a change to every watch of the stage that is still open.
func (f *fakeStages) emit(arn string, c stage.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watches[arn] {
		w.send(c)
	}
}

// closeWatches closes the change channel of every open watch of the stage, as the domain does
// for a watcher that lags or a stage that is deleted.
func (f *fakeStages) closeWatches(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watches[arn] {
		w.closeCh()
	}
}

// member waits for participantID to have joined.
func (f *fakeStages) member(t testing.TB, participantID string) *fakeMember {
	t.Helper()
	var m *fakeMember
	waitFor(t, "join of "+participantID, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		m = f.members[participantID]
		return m != nil
	})
	return m
}

func (f *fakeStages) joined(participantID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members[participantID] != nil
}

// lastWatch waits for the stage to have a watch and returns the newest.
func (f *fakeStages) lastWatch(t testing.TB, arn string) *fakeWatch {
	t.Helper()
	var w *fakeWatch
	waitFor(t, "a watch of "+arn, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if ws := f.watches[arn]; len(ws) > 0 {
			w = ws[len(ws)-1]
		}
		return w != nil
	})
	return w
}

type fakeMember struct {
	params stage.JoinParams
	once   sync.Once
	left   chan struct{} // closed by Leave
}

func (m *fakeMember) ParticipantID() string { return m.params.ParticipantID }

func (m *fakeMember) Leave(context.Context) { m.once.Do(func() { close(m.left) }) }

// waitLeft waits for Leave to have been called.
func (m *fakeMember) waitLeft(t testing.TB) {
	t.Helper()
	select {
	case <-m.left:
	case <-time.After(waitTimeout):
		t.Fatalf("participant %s did not leave within %v", m.params.ParticipantID, waitTimeout)
	}
}

func (m *fakeMember) hasLeft() bool {
	select {
	case <-m.left:
		return true
	default:
		return false
	}
}

type fakeWatch struct {
	ch       chan stage.Change
	mu       sync.Mutex // guards closed
	closed   bool       // ch is closed
	stopOnce sync.Once
	stopped  chan struct{} // closed by stop
}

func (w *fakeWatch) stop() {
	w.stopOnce.Do(func() { close(w.stopped) })
	w.closeCh() // as the domain does: a stopped watch's channel closes
}

func (w *fakeWatch) closeCh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}

// send queues c unless the watch is closed; a full buffer closes it, as the domain drops a
// watcher that lags.
func (w *fakeWatch) send(c stage.Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	select {
	case w.ch <- c:
	default:
		w.closed = true
		close(w.ch)
	}
}

// waitStopped waits for the watch's stop function to have been called.
func (w *fakeWatch) waitStopped(t testing.TB) {
	t.Helper()
	select {
	case <-w.stopped:
	case <-time.After(waitTimeout):
		t.Fatalf("watch not stopped within %v", waitTimeout)
	}
}

const waitTimeout = 5 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		case <-tick.C:
		}
	}
}
