package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestGroupCommitIsolatesFailures: concurrent writes share transactions, yet a write that
// fails after changing rows rolls back alone (in SQLite and in the mirror Get reads), and every
// acknowledged write is there at once and after a reopen.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	dir := t.TempDir()
	s, ctx := open(t, dir), context.Background()
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 { // Gets racing the writes, for the race detector
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i = (i + 1) % n {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Stages().Get(ctx, stageArn(i)); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Get during writes: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st := &Stage{Arn: stageArn(i), Name: fmt.Sprint(i)}
			if i%10 == 0 { // inserts, then fails: its insert must not survive
				errs[i] = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO resources(arn, type, body) VALUES (?, 'stage', '{}')`, st.Arn); err != nil {
						return err
					}
					s.mirror.put(st.Arn, "stage", "{}")
					return errors.New("boom")
				})
				return
			}
			errs[i] = s.Stages().Create(ctx, st.Arn, st)
		}(i)
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	for _, when := range []string{"before a reopen", "after a reopen"} {
		if when == "after a reopen" {
			s.Close()
			s = open(t, dir)
		}
		for i := 0; i < n; i++ {
			_, err := s.Stages().Get(ctx, stageArn(i))
			switch {
			case i%10 == 0 && (errs[i] == nil || !errors.Is(err, ErrNotFound)):
				t.Fatalf("%s: failed write %d: err %v, stored: %v", when, i, errs[i], err)
			case i%10 != 0 && (errs[i] != nil || err != nil):
				t.Fatalf("%s: write %d: err %v, read back: %v", when, i, errs[i], err)
			}
		}
	}
}

// TestMirrorMatchesSQLite: after every kind of write to the resources table, what Get reads
// (the in-memory mirror) is what SQLite holds.
func TestMirrorMatchesSQLite(t *testing.T) {
	s, ctx := open(t, t.TempDir()), context.Background()
	same := func(step string) {
		t.Helper()
		rows, err := s.r.QueryContext(ctx, `SELECT arn, type, body FROM resources`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var arn, typ, body string
			if err := rows.Scan(&arn, &typ, &body); err != nil {
				t.Fatal(err)
			}
			if got, ok := s.mirror.get(arn, typ); !ok || got != body {
				t.Fatalf("%s: mirror of %s = %q, %v; SQLite holds %q", step, arn, got, ok, body)
			}
			n++
		}
		s.mirror.mu.RLock()
		defer s.mirror.mu.RUnlock()
		if len(s.mirror.rows) != n {
			t.Fatalf("%s: mirror holds %d resources, SQLite %d", step, len(s.mirror.rows), n)
		}
	}
	a, b := stageArn(1), stageArn(2)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Stages().Create(ctx, a, &Stage{Arn: a, Name: "a", Tags: Tags{}}))
	same("create")
	must(s.CreateStageWithTokens(ctx, &Stage{Arn: b, Name: "b"}, []ParticipantToken{{ParticipantID: "p", StageArn: b}}))
	same("create with tokens")
	if err := s.Stages().Create(ctx, stageArn(3), &Stage{Arn: stageArn(3)}, Limit("stage", 2)); !errors.Is(err, ErrLimit) {
		t.Fatalf("third stage over a limit of 2: %v", err)
	}
	same("refused create")
	_, err := s.Stages().Update(ctx, a, func(st *Stage) error { st.Name = "renamed"; return nil })
	must(err)
	same("update")
	_, err = s.Stages().Update(ctx, a, func(st *Stage) error { st.Name = "lost"; return errors.New("refused") })
	if err == nil {
		t.Fatal("a refused update succeeded")
	}
	same("refused update")
	if got, _ := s.Stages().Get(ctx, a); got.Name != "renamed" {
		t.Fatalf("name after a refused update = %q", got.Name)
	}
	must(s.Tag(ctx, a, Tags{"k": "v"}))
	same("tag")
	must(s.Untag(ctx, a, []string{"k"}))
	same("untag")
	must(s.Stages().Delete(ctx, b))
	same("delete")
	if _, err := s.StorageConfigurations().Get(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a stage read as a storage configuration: %v", err)
	}
}
