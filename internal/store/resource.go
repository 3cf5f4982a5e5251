package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Repo is the repository of one resource type, kept as JSON bodies in the resources table in
// creation order (which is the stable order of listings).
type Repo[T any] struct {
	s   *SQLite
	typ string
}

// Stages, StorageConfigurations, EncoderConfigurations and PublicKeys are the repositories.
func (s *SQLite) Stages() Repo[Stage] { return Repo[Stage]{s, "stage"} }

func (s *SQLite) StorageConfigurations() Repo[StorageConfiguration] {
	return Repo[StorageConfiguration]{s, "storage-configuration"}
}

func (s *SQLite) EncoderConfigurations() Repo[EncoderConfiguration] {
	return Repo[EncoderConfiguration]{s, "encoder-configuration"}
}

func (s *SQLite) PublicKeys() Repo[PublicKey] { return Repo[PublicKey]{s, "public-key"} }

// Guard runs inside a write transaction before it commits; its error aborts the write.
type Guard func(ctx context.Context, tx *sql.Tx) error

// Create stores v under arn, after guards pass, in one durable transaction.
func (r Repo[T]) Create(ctx context.Context, arn string, v *T, guards ...Guard) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("create %s %s: %w", r.typ, arn, err)
	}
	return r.s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, g := range guards {
			if err := g(ctx, tx); err != nil {
				return fmt.Errorf("create %s %s: %w", r.typ, arn, err)
			}
		}
		if err := r.s.exec(ctx, tx, insertResource, arn, r.typ, body); err != nil {
			return fmt.Errorf("create %s %s: %w", r.typ, arn, err)
		}
		r.s.mirror.put(arn, r.typ, string(body))
		return nil
	})
}

const insertResource = `INSERT INTO resources(arn, type, body) VALUES (?, ?, ?)`

// Get returns the resource with that ARN, or ErrNotFound. It reads the in-memory mirror of
// the table, which holds every acknowledged write.
func (r Repo[T]) Get(_ context.Context, arn string) (*T, error) {
	body, ok := r.s.mirror.get(arn, r.typ)
	if !ok {
		return nil, &NotFoundError{Type: r.typ, ID: arn}
	}
	v, err := decode[T](body)
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", r.typ, arn, err)
	}
	return v, nil
}

// Update applies fn to the stored resource and saves the result, atomically.
func (r Repo[T]) Update(ctx context.Context, arn string, fn func(*T) error) (*T, error) {
	var out *T
	err := r.s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var body string
		err := tx.QueryRowContext(ctx, `SELECT body FROM resources WHERE arn = ? AND type = ?`, arn, r.typ).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Type: r.typ, ID: arn}
		}
		if err != nil {
			return err
		}
		if out, err = decode[T](body); err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE resources SET body = ? WHERE arn = ?`, b, arn); err != nil {
			return err
		}
		r.s.mirror.put(arn, r.typ, string(b))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update %s %s: %w", r.typ, arn, err)
	}
	return out, nil
}

// Delete removes the resource after guards pass; ErrNotFound when there is none.
func (r Repo[T]) Delete(ctx context.Context, arn string, guards ...Guard) error {
	err := r.s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM resources WHERE arn = ? AND type = ?`, arn, r.typ).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Type: r.typ, ID: arn}
		}
		if err != nil {
			return err
		}
		for _, g := range guards {
			if err := g(ctx, tx); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM resources WHERE seq = ?`, seq); err != nil {
			return err
		}
		r.s.mirror.del(arn)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", r.typ, arn, err)
	}
	return nil
}

// List returns one page in creation order and the token of the next page ("" at the end).
func (r Repo[T]) List(ctx context.Context, p Page) ([]T, string, error) {
	after, err := decodeSeqToken(r.typ, p.Token)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", r.typ, err)
	}
	out, seqs, err := queryPage[T](ctx, r.s.r, p.Max+1,
		`SELECT seq, body FROM resources WHERE type = ? AND seq > ? ORDER BY seq LIMIT ?`, r.typ, after, p.Max+1)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", r.typ, err)
	}
	return pageOf(out, seqs, p.Max, r.typ)
}

func decode[T any](body string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return nil, fmt.Errorf("decode stored resource: %w", err)
	}
	return v, nil
}

// NotReferencedBy is a guard failing with ErrConflict when any resource of type typ holds arn
// anywhere in its body (a stage recording to a storage configuration, a composition's
// destinations naming an encoder configuration).
func NotReferencedBy(typ, arn string) Guard {
	return func(ctx context.Context, tx *sql.Tx) error {
		var user string
		err := tx.QueryRowContext(ctx,
			`SELECT arn FROM resources WHERE type = ? AND instr(body, ?) > 0 LIMIT 1`, typ, `"`+arn+`"`).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return &ConflictError{Reason: arn + " is used by " + user}
	}
}

// Unique is a guard failing with ErrConflict when a resource of type typ already has value
// at the JSON path (e.g. a public key with the same fingerprint).
func Unique(typ, jsonPath, value string) Guard {
	return func(ctx context.Context, tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx,
			`SELECT arn FROM resources WHERE type = ? AND json_extract(body, ?) = ? LIMIT 1`, typ, jsonPath, value).Scan(&other)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return &ConflictError{Reason: "the same resource already exists: " + other}
	}
}

// Limit is a guard failing with a *LimitError when max resources of type typ already exist.
// It runs in the create's transaction, so concurrent creates cannot overshoot it.
func Limit(typ string, max int) Guard {
	return func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM resources WHERE type = ?`, typ).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return &LimitError{Type: typ, Max: max}
		}
		return nil
	}
}
