package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Tags returns the tags of any resource, by ARN.
func (s *SQLite) Tags(ctx context.Context, arn string) (Tags, error) {
	var raw sql.NullString
	err := s.queryRow(ctx, `SELECT json_extract(body, '$.tags') FROM resources WHERE arn = ?`, arn).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Type: "resource", ID: arn}
	}
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", arn, err)
	}
	return parseTags(raw)
}

// Tag adds or replaces tags on a resource; ErrTooManyTags if it would exceed MaxTags.
func (s *SQLite) Tag(ctx context.Context, arn string, add Tags) error {
	return s.retag(ctx, arn, func(t Tags) {
		for k, v := range add {
			t[k] = v
		}
	})
}

// Untag removes the given keys from a resource's tags (absent keys are ignored).
func (s *SQLite) Untag(ctx context.Context, arn string, keys []string) error {
	return s.retag(ctx, arn, func(t Tags) {
		for _, k := range keys {
			delete(t, k)
		}
	})
}

func (s *SQLite) retag(ctx context.Context, arn string, change func(Tags)) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var raw sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT json_extract(body, '$.tags') FROM resources WHERE arn = ?`, arn).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Type: "resource", ID: arn}
		}
		if err != nil {
			return err
		}
		tags, err := parseTags(raw)
		if err != nil {
			return err
		}
		change(tags)
		if len(tags) > MaxTags {
			return ErrTooManyTags
		}
		b, err := json.Marshal(tags)
		if err != nil {
			return err
		}
		var typ, body string
		err = tx.QueryRowContext(ctx, `UPDATE resources SET body = json_set(body, '$.tags', json(?)) WHERE arn = ? RETURNING type, body`,
			string(b), arn).Scan(&typ, &body)
		if err != nil {
			return err
		}
		s.mirror.put(arn, typ, body)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tag %s: %w", arn, err)
	}
	return nil
}

func parseTags(raw sql.NullString) (Tags, error) {
	tags := Tags{}
	if !raw.Valid || raw.String == "" {
		return tags, nil
	}
	if err := json.Unmarshal([]byte(raw.String), &tags); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	if tags == nil {
		tags = Tags{}
	}
	return tags, nil
}
