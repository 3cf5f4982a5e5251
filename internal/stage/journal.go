package stage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/store"
)

// journal persists live-state changes in the order they happened, off the caller's path:
// the domain appends under its own lock (no I/O there) and one goroutine writes batches in
// single transactions.
type journal struct {
	apply func(ctx context.Context, w []store.LiveWrite) error
	log   *slog.Logger

	mu      sync.Mutex // guards pending and flushed
	pending []store.LiveWrite
	flushed *sync.Cond // signalled after each batch is written
	wake    chan struct{}
	busy    bool // a batch is being written
}

func newJournal(apply func(context.Context, []store.LiveWrite) error, log *slog.Logger) *journal {
	j := &journal{apply: apply, log: log, wake: make(chan struct{}, 1)}
	j.flushed = sync.NewCond(&j.mu)
	return j
}

func (j *journal) add(w store.LiveWrite) {
	j.mu.Lock()
	j.pending = append(j.pending, w)
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// run writes batches until ctx ends, then writes what is left.
func (j *journal) run(ctx context.Context) {
	for {
		select {
		case <-j.wake:
			j.writeBatch()
		case <-ctx.Done():
			j.writeBatch()
			return
		}
	}
}

func (j *journal) writeBatch() {
	j.mu.Lock()
	batch := j.pending
	j.pending = nil
	j.busy = len(batch) > 0
	j.mu.Unlock()
	if len(batch) > 0 {
		// Retry: a transient SQLite error must not drop what participants did.
		for attempt := 0; ; attempt++ {
			err := j.apply(context.Background(), batch)
			if err == nil {
				break
			}
			j.log.Error("persist live state", "err", err, "changes", len(batch), "attempt", attempt)
			if attempt == 4 {
				break
			}
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
	}
	j.mu.Lock()
	j.busy = false
	j.flushed.Broadcast()
	j.mu.Unlock()
}

// flush waits until everything added before the call is written (tests and shutdown).
func (j *journal) flush() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
	j.mu.Lock()
	for len(j.pending) > 0 || j.busy {
		j.flushed.Wait()
	}
	j.mu.Unlock()
}
