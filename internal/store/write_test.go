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
// fails after changing rows rolls back alone, and every acknowledged write is there after a
// reopen.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	dir := t.TempDir()
	s, ctx := open(t, dir), context.Background()
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
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
					return errors.New("boom")
				})
				return
			}
			errs[i] = s.Stages().Create(ctx, st.Arn, st)
		}(i)
	}
	wg.Wait()
	s.Close()
	s = open(t, dir)
	for i := 0; i < n; i++ {
		_, err := s.Stages().Get(ctx, stageArn(i))
		switch {
		case i%10 == 0 && (errs[i] == nil || !errors.Is(err, ErrNotFound)):
			t.Fatalf("failed write %d: err %v, stored: %v", i, errs[i], err)
		case i%10 != 0 && (errs[i] != nil || err != nil):
			t.Fatalf("write %d: err %v, read back: %v", i, errs[i], err)
		}
	}
}
