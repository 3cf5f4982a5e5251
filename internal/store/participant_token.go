package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// CreateStageWithTokens stores a new stage and the tokens issued with it in one transaction,
// after guards pass, so a stage is never visible without the tokens CreateStage returned for it.
func (s *SQLite) CreateStageWithTokens(ctx context.Context, st *Stage, tokens []ParticipantToken, guards ...Guard) error {
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("create stage %s: %w", st.Arn, err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, g := range guards {
			if err := g(ctx, tx); err != nil {
				return err
			}
		}
		typ := s.Stages().typ
		if err := s.exec(ctx, tx, insertResource, st.Arn, typ, body); err != nil {
			return err
		}
		s.mirror.put(st.Arn, typ, string(body))
		for i := range tokens {
			if err := s.insertToken(ctx, tx, &tokens[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create stage %s: %w", st.Arn, err)
	}
	return nil
}

// CreateParticipantToken records an issued token; ErrNotFound if its stage does not exist.
func (s *SQLite) CreateParticipantToken(ctx context.Context, t *ParticipantToken) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM resources WHERE arn = ? AND type = 'stage'`, t.StageArn).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Type: "stage", ID: t.StageArn}
		}
		if err != nil {
			return err
		}
		return s.insertToken(ctx, tx, t)
	})
	if err != nil {
		return fmt.Errorf("create participant token for %s: %w", t.StageArn, err)
	}
	return nil
}

const insertTokenSQL = `INSERT INTO participant_tokens(participant_id, stage_arn, body) VALUES (?, ?, ?)`

func (s *SQLite) insertToken(ctx context.Context, tx *sql.Tx, t *ParticipantToken) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.exec(ctx, tx, insertTokenSQL, t.ParticipantID, t.StageArn, body)
}

// ParticipantToken returns the record of an issued token by participant id.
func (s *SQLite) ParticipantToken(ctx context.Context, participantID string) (*ParticipantToken, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM participant_tokens WHERE participant_id = ?`, participantID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Type: "participant", ID: participantID}
	}
	if err != nil {
		return nil, fmt.Errorf("participant token %s: %w", participantID, err)
	}
	return decode[ParticipantToken](body)
}
