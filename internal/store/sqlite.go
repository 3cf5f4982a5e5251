// Package store keeps Footlight's state: stages, configurations, public keys and issued
// tokens. SQLite (pure Go, WAL) is the embedded default. It knows SQL, not HTTP or the domain's
// rules beyond referential ones.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded store. Writes go through one connection in IMMEDIATE transactions
// and are fsynced before they return (WAL, synchronous=FULL), so an acknowledged write
// survives kill -9 and power loss; reads use a pool of their own.
type SQLite struct {
	w *sql.DB // one connection, owned by the writer goroutine: SQLite has one writer anyway
	r *sql.DB

	writes     chan writeReq
	closed     chan struct{} // closed by Close: stops the writer
	writerDone chan struct{}
	closeOnce  sync.Once
	stmts      sync.Map             // read query → *sql.Stmt prepared on r
	wstmts     map[string]*sql.Stmt // hotWrites prepared on w; read-only once open
	mirror     mirror               // the resources table in memory, for Get
}

// OpenSQLite opens (creating if needed) the database in dir and migrates its schema.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	path := filepath.Join(dir, "footlight.db")
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	// The writer's page cache may grow to 64 MiB (SQLite's default is 2 MiB): each create
	// touches a random leaf of the ARN index, and past a few ten thousand resources the default
	// cache re-reads those pages on almost every insert (30% fewer preads at 40,000 stages).
	wq := url.Values{"_pragma": append(slices.Clone(q["_pragma"]), "cache_size(-65536)")}
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	q.Add("_pragma", "query_only(ON)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8) // reopening a connection per read costs more than the read
	s := &SQLite{w: w, r: r, writes: make(chan writeReq), closed: make(chan struct{}), writerDone: make(chan struct{})}
	go s.runWriter() // stopped by Close
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.mirror.load(ctx, r); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareWrites(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the writer (a write in flight finishes first) and closes both pools.
func (s *SQLite) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		<-s.writerDone
		s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		for _, st := range s.wstmts {
			st.Close()
		}
		err = errors.Join(s.w.Close(), s.r.Close())
	})
	return err
}

// query runs a read through a statement prepared once per query text.
func (s *SQLite) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// hotWrites are the write statements prepared once on the write connection (at open: a
// statement cannot be prepared on it while a transaction holds it), because parsing the SQL
// again costs as much as running it.
var hotWrites = []string{
	`SAVEPOINT w`, `RELEASE w`, `ROLLBACK TO w`,
	insertResource, insertTokenSQL,
}

func (s *SQLite) prepareWrites(ctx context.Context) error {
	s.wstmts = map[string]*sql.Stmt{}
	for _, q := range hotWrites {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.wstmts[q] = st
	}
	return nil
}

// exec runs a write statement inside tx, prepared if it is one of hotWrites.
func (s *SQLite) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	var err error
	if st, ok := s.wstmts[query]; ok {
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, query, args...)
	}
	return err
}

// migrations are applied in order, each once; append only.
var migrations = []string{
	`CREATE TABLE resources (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		arn        TEXT NOT NULL UNIQUE,
		type       TEXT NOT NULL,
		body       TEXT NOT NULL
	);
	CREATE INDEX resources_type_seq ON resources(type, seq);
	CREATE TABLE participant_tokens (
		participant_id TEXT PRIMARY KEY,
		stage_arn      TEXT NOT NULL REFERENCES resources(arn) ON DELETE CASCADE,
		body           TEXT NOT NULL
	);
	CREATE INDEX participant_tokens_stage ON participant_tokens(stage_arn);`,
	`CREATE TABLE stage_sessions (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		session_id TEXT NOT NULL UNIQUE,
		stage_arn  TEXT NOT NULL,
		body       TEXT NOT NULL
	);
	CREATE INDEX stage_sessions_stage ON stage_sessions(stage_arn, seq);
	CREATE TABLE participants (
		seq            INTEGER PRIMARY KEY AUTOINCREMENT,
		session_id     TEXT NOT NULL,
		participant_id TEXT NOT NULL,
		stage_arn      TEXT NOT NULL,
		body           TEXT NOT NULL,
		UNIQUE (session_id, participant_id)
	);
	CREATE TABLE participant_events (
		seq            INTEGER PRIMARY KEY AUTOINCREMENT,
		session_id     TEXT NOT NULL,
		participant_id TEXT NOT NULL,
		body           TEXT NOT NULL
	);
	CREATE INDEX participant_events_by ON participant_events(session_id, participant_id, seq);
	CREATE TABLE revocations (
		stage_arn      TEXT NOT NULL,
		participant_id TEXT NOT NULL,
		reason         TEXT NOT NULL,
		revoked_at     TEXT NOT NULL,
		PRIMARY KEY (stage_arn, participant_id)
	);`,
}

func (s *SQLite) migrate(ctx context.Context) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migrate to version %d: %w", i+1, err)
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)))
		return err
	})
}

// maxBatch bounds how many writes share one transaction (and one fsync).
const maxBatch = 128

// writeReq is one write waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// write runs fn durably and returns its error. Writes are group-committed: the writer
// goroutine takes every queued write in arrival order, runs each inside its own SAVEPOINT of
// one IMMEDIATE transaction (a failing write rolls back alone) and commits once, so concurrent
// writes share one fsync and are served first come, first served. fn gets a context that is
// not cancelled with the caller's: interrupting SQLite mid-transaction would abort the others.
func (s *SQLite) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	req := writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-s.closed:
		return errors.New("store is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done // always answered, even once ctx ends: the write may have committed
}

// runWriter owns the write connection until Close; each batch is one transaction.
func (s *SQLite) runWriter() {
	defer close(s.writerDone)
	for {
		var first writeReq
		select {
		case first = <-s.writes:
		case <-s.closed:
			return
		}
		batch := []writeReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commitBatch(batch)
	}
}

func (s *SQLite) commitBatch(batch []writeReq) {
	errs := make([]error, len(batch))
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.done <- fmt.Errorf("begin: %w", err)
		}
		return
	}
	for i, r := range batch {
		if r.ctx.Err() != nil {
			errs[i] = r.ctx.Err() // nobody waits for it any more: don't write it
			continue
		}
		errs[i] = s.savepoint(tx, func() error { return r.fn(context.WithoutCancel(r.ctx), tx) })
		s.mirror.settle(errs[i] == nil)
	}
	err = tx.Commit()
	s.mirror.commit(err == nil)
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("commit: %w", err)
			}
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// savepoint runs fn so that its changes are undone alone if it fails.
func (s *SQLite) savepoint(tx *sql.Tx, fn func() error) error {
	ctx := context.Background()
	if err := s.exec(ctx, tx, `SAVEPOINT w`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if rerr := s.exec(ctx, tx, `ROLLBACK TO w`); rerr != nil {
			return errors.Join(err, rerr)
		}
		s.exec(ctx, tx, `RELEASE w`)
		return err
	}
	return s.exec(ctx, tx, `RELEASE w`)
}
