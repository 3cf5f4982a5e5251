// Package store keeps Footlight's state: stages, configurations, public keys and issued
// tokens. SQLite (pure Go, WAL) is the embedded default. It knows SQL, not HTTP or the domain's
// rules beyond referential ones.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded store. Writes go through one connection in IMMEDIATE transactions
// and are fsynced before they return (WAL, synchronous=FULL), so an acknowledged write
// survives kill -9 and power loss; reads use a pool of their own.
type SQLite struct {
	w *sql.DB // one connection: SQLite has one writer anyway, and this avoids SQLITE_BUSY
	r *sql.DB
}

// OpenSQLite opens (creating if needed) the database in dir and migrates its schema.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	path := filepath.Join(dir, "footlight.db")
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
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
	s := &SQLite{w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both connection pools.
func (s *SQLite) Close() error {
	return errorsJoin(s.w.Close(), s.r.Close())
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
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
	return s.write(ctx, func(tx *sql.Tx) error {
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

// write runs fn in one IMMEDIATE transaction and commits it (durably) when fn succeeds.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
