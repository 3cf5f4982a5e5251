package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// mirror is an in-memory copy of the resources table (ARN → type and JSON body), so that a Get
// — the API's hottest read — is a map lookup instead of a SQLite query. SQLite stays the truth:
// the mirror is loaded from it at open and changed only after a write's transaction has
// committed, before the write is acknowledged. A Get therefore sees every acknowledged write, as
// a read of SQLite would; one racing an unacknowledged write may see either side, as in SQLite.
type mirror struct {
	mu   sync.RWMutex
	rows map[string]mirrored

	// Owned by the writer goroutine, which runs every write function: changes of the write in
	// progress (kept or dropped with its savepoint), and those of the batch (applied at commit).
	cur, batch []change
}

type mirrored struct {
	typ  string
	body string
}

// change is one row of the resources table written (body set) or deleted (gone).
type change struct {
	arn, typ, body string
	gone           bool
}

func (m *mirror) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT arn, type, body FROM resources`)
	if err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	defer rows.Close()
	m.rows = map[string]mirrored{}
	for rows.Next() {
		var arn string
		var r mirrored
		if err := rows.Scan(&arn, &r.typ, &r.body); err != nil {
			return fmt.Errorf("load resources: %w", err)
		}
		m.rows[arn] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	return nil
}

// get returns the body of the resource arn of type typ.
func (m *mirror) get(arn, typ string) (string, bool) {
	m.mu.RLock()
	r, ok := m.rows[arn]
	m.mu.RUnlock()
	if !ok || r.typ != typ {
		return "", false
	}
	return r.body, true
}

// put and del record a change made inside the current write function (writer goroutine only).
func (m *mirror) put(arn, typ, body string) {
	m.cur = append(m.cur, change{arn: arn, typ: typ, body: body})
}
func (m *mirror) del(arn string) { m.cur = append(m.cur, change{arn: arn, gone: true}) }

// settle ends the current write function: its changes join the batch if it succeeded.
func (m *mirror) settle(ok bool) {
	if ok {
		m.batch = append(m.batch, m.cur...)
	}
	m.cur = m.cur[:0]
}

// commit applies the batch's changes once its transaction committed (or drops them if it did
// not), in the order they were made.
func (m *mirror) commit(committed bool) {
	if committed && len(m.batch) > 0 {
		m.mu.Lock()
		for _, c := range m.batch {
			if c.gone {
				delete(m.rows, c.arn)
			} else {
				m.rows[c.arn] = mirrored{typ: c.typ, body: c.body}
			}
		}
		m.mu.Unlock()
	}
	clear(m.batch) // drop the bodies' references
	m.batch = m.batch[:0]
}
