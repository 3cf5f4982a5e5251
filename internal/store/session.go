package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ApplyLive persists a batch of live-state changes in one transaction, in order.
func (s *SQLite) ApplyLive(ctx context.Context, writes []LiveWrite) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, w := range writes {
			if err := applyOne(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("persist %d live changes: %w", len(writes), err)
	}
	return nil
}

func applyOne(ctx context.Context, tx *sql.Tx, w LiveWrite) error {
	switch {
	case w.Session != nil:
		b, _ := json.Marshal(w.Session)
		_, err := tx.ExecContext(ctx, `INSERT INTO stage_sessions(session_id, stage_arn, body) VALUES (?, ?, ?)
			ON CONFLICT(session_id) DO UPDATE SET body = excluded.body`, w.Session.SessionID, w.Session.StageArn, b)
		return err
	case w.Participant != nil:
		p := w.Participant
		b, _ := json.Marshal(p)
		_, err := tx.ExecContext(ctx, `INSERT INTO participants(session_id, participant_id, stage_arn, body) VALUES (?, ?, ?, ?)
			ON CONFLICT(session_id, participant_id) DO UPDATE SET body = excluded.body`, p.SessionID, p.ParticipantID, p.StageArn, b)
		return err
	case w.Event != nil:
		b, _ := json.Marshal(w.Event)
		_, err := tx.ExecContext(ctx, `INSERT INTO participant_events(session_id, participant_id, body) VALUES (?, ?, ?)`,
			w.Event.SessionID, w.Event.ParticipantID, b)
		return err
	}
	return nil
}

// CloseOpenSessions ends what a previous run left running (a crash or restart drops every
// connection): open sessions end at `at`, connected participants become DISCONNECTED with a
// LEFT event. It returns how many sessions it ended.
func (s *SQLite) CloseOpenSessions(ctx context.Context, at time.Time) (int, error) {
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		open, err := queryBodies[StageSession](ctx, tx, `SELECT seq, body FROM stage_sessions WHERE json_extract(body, '$.endTime') IS NULL`)
		if err != nil {
			return err
		}
		for _, ss := range open {
			ss.EndTime = &at
			if err := applyOne(ctx, tx, LiveWrite{Session: &ss}); err != nil {
				return err
			}
			connected, err := queryBodies[Participant](ctx, tx,
				`SELECT seq, body FROM participants WHERE session_id = ? AND json_extract(body, '$.state') = 'CONNECTED'`, ss.SessionID)
			if err != nil {
				return err
			}
			for _, p := range connected {
				p.State = "DISCONNECTED"
				left := ParticipantEvent{StageArn: p.StageArn, SessionID: p.SessionID, ParticipantID: p.ParticipantID, Name: "LEFT", EventTime: at}
				if err := applyOne(ctx, tx, LiveWrite{Participant: &p}); err != nil {
					return err
				}
				if err := applyOne(ctx, tx, LiveWrite{Event: &left}); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("close open sessions: %w", err)
	}
	return n, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryBodies runs a query selecting (seq, body) and decodes every body.
func queryBodies[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	out, _, err := queryPage[T](ctx, q, 0, query, args...)
	return out, err
}

// queryPage is queryBodies that also returns the seq of the last row, and stops after max
// rows when max > 0.
func queryPage[T any](ctx context.Context, q querier, max int, query string, args ...any) ([]T, []int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []T
	var seqs []int64
	for rows.Next() {
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, nil, err
		}
		v, err := decode[T](body)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, *v)
		seqs = append(seqs, seq)
		if max > 0 && len(out) == max {
			break
		}
	}
	return out, seqs, rows.Err()
}

// Revoke records that a participant was disconnected for good.
func (s *SQLite) Revoke(ctx context.Context, stageArn, participantID, reason string, at time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations(stage_arn, participant_id, reason, revoked_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(stage_arn, participant_id) DO NOTHING`, stageArn, participantID, reason, at.UTC().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke participant %s: %w", participantID, err)
	}
	return nil
}

// Revoked reports whether a participant of a stage was disconnected for good.
func (s *SQLite) Revoked(ctx context.Context, stageArn, participantID string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM revocations WHERE stage_arn = ? AND participant_id = ?`, stageArn, participantID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revocation of %s: %w", participantID, err)
	}
	return true, nil
}

// KnownParticipant reports whether participantID has a token issued for the stage or has
// joined one of its sessions.
func (s *SQLite) KnownParticipant(ctx context.Context, stageArn, participantID string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM participant_tokens WHERE participant_id = ? AND stage_arn = ?
		UNION ALL SELECT 1 FROM participants WHERE participant_id = ? AND stage_arn = ? LIMIT 1`,
		participantID, stageArn, participantID, stageArn).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up participant %s: %w", participantID, err)
	}
	return true, nil
}

// StageSession returns one session of a stage.
func (s *SQLite) StageSession(ctx context.Context, stageArn, sessionID string) (*StageSession, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM stage_sessions WHERE session_id = ? AND stage_arn = ?`, sessionID, stageArn).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Type: "session", ID: sessionID}
	}
	if err != nil {
		return nil, fmt.Errorf("get session %s: %w", sessionID, err)
	}
	return decode[StageSession](body)
}

// ListStageSessions pages through a stage's sessions, newest first.
func (s *SQLite) ListStageSessions(ctx context.Context, stageArn string, p Page) ([]StageSession, string, error) {
	before, err := decodeSeqToken("sessions:"+stageArn, p.Token)
	if err != nil {
		return nil, "", err
	}
	out, seqs, err := queryPage[StageSession](ctx, s.r, p.Max+1,
		`SELECT seq, body FROM stage_sessions WHERE stage_arn = ? AND (? = 0 OR seq < ?) ORDER BY seq DESC LIMIT ?`,
		stageArn, before, before, p.Max+1)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions of %s: %w", stageArn, err)
	}
	return pageOf(out, seqs, p.Max, "sessions:"+stageArn)
}

// Participant returns one participant of a session.
func (s *SQLite) Participant(ctx context.Context, stageArn, sessionID, participantID string) (*Participant, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM participants WHERE session_id = ? AND participant_id = ? AND stage_arn = ?`,
		sessionID, participantID, stageArn).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Type: "participant", ID: participantID}
	}
	if err != nil {
		return nil, fmt.Errorf("get participant %s: %w", participantID, err)
	}
	return decode[Participant](body)
}

// ListParticipants pages through a session's participants in join order.
func (s *SQLite) ListParticipants(ctx context.Context, stageArn, sessionID string, f ParticipantFilter, p Page) ([]Participant, string, error) {
	scope := "participants:" + sessionID
	after, err := decodeSeqToken(scope, p.Token)
	if err != nil {
		return nil, "", err
	}
	where, args := `stage_arn = ? AND session_id = ? AND seq > ?`, []any{stageArn, sessionID, after}
	switch {
	case f.UserID != nil:
		where, args = where+` AND json_extract(body, '$.userId') = ?`, append(args, *f.UserID)
	case f.Published:
		where += ` AND json_extract(body, '$.published') = 1`
	case f.State != "":
		where, args = where+` AND json_extract(body, '$.state') = ?`, append(args, f.State)
	case f.RecordingState != "":
		where, args = where+` AND json_extract(body, '$.recordingState') = ?`, append(args, f.RecordingState)
	}
	out, seqs, err := queryPage[Participant](ctx, s.r, p.Max+1,
		`SELECT seq, body FROM participants WHERE `+where+` ORDER BY seq LIMIT ?`, append(args, p.Max+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list participants of %s: %w", sessionID, err)
	}
	return pageOf(out, seqs, p.Max, scope)
}

// ListParticipantEvents pages through one participant's events of a session, oldest first.
func (s *SQLite) ListParticipantEvents(ctx context.Context, stageArn, sessionID, participantID string, p Page) ([]ParticipantEvent, string, error) {
	scope := "events:" + sessionID + ":" + participantID
	after, err := decodeSeqToken(scope, p.Token)
	if err != nil {
		return nil, "", err
	}
	out, seqs, err := queryPage[ParticipantEvent](ctx, s.r, p.Max+1,
		`SELECT seq, body FROM participant_events WHERE session_id = ? AND participant_id = ? AND seq > ?
		 AND json_extract(body, '$.stageArn') = ? ORDER BY seq LIMIT ?`, sessionID, participantID, after, stageArn, p.Max+1)
	if err != nil {
		return nil, "", fmt.Errorf("list events of %s: %w", participantID, err)
	}
	return pageOf(out, seqs, p.Max, scope)
}
