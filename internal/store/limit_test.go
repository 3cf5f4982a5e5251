package store

import (
	"context"
	"errors"
	"testing"
)

// TestLimitGuard: a Limit guard lets a create through while fewer than max resources of its
// type exist, refuses it with a *LimitError (ErrLimit) at max, counts only its own type, and
// counts what exists, so a delete makes room again.
func TestLimitGuard(t *testing.T) {
	s, ctx := open(t, t.TempDir()), context.Background()
	other := "arn:aws:ivs:us-east-1:123456789012:storage-configuration/abcdABCD0001"
	if err := s.StorageConfigurations().Create(ctx, other, &StorageConfiguration{Arn: other}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Stages().Create(ctx, stageArn(i), &Stage{Arn: stageArn(i)}, Limit("stage", 3)); err != nil {
			t.Fatalf("stage %d of 3: %v", i+1, err)
		}
	}
	err := s.Stages().Create(ctx, stageArn(3), &Stage{Arn: stageArn(3)}, Limit("stage", 3))
	var limit *LimitError
	if !errors.Is(err, ErrLimit) || !errors.As(err, &limit) || limit.Type != "stage" || limit.Max != 3 {
		t.Fatalf("fourth stage: %v, want a LimitError for 3 stages", err)
	}
	if _, err := s.Stages().Get(ctx, stageArn(3)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused stage was stored: %v", err)
	}
	// CreateStageWithTokens runs the same guard before it writes the stage or its tokens.
	st := &Stage{Arn: stageArn(4)}
	if err := s.CreateStageWithTokens(ctx, st, []ParticipantToken{{ParticipantID: "p4", StageArn: st.Arn}}, Limit("stage", 3)); !errors.Is(err, ErrLimit) {
		t.Fatalf("CreateStageWithTokens at the limit: %v, want ErrLimit", err)
	}
	if known, err := s.KnownParticipant(ctx, st.Arn, "p4"); err != nil || known {
		t.Fatalf("the refused stage's token was stored: known %v, %v", known, err)
	}
	if err := s.Stages().Delete(ctx, stageArn(0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStageWithTokens(ctx, st, nil, Limit("stage", 3)); err != nil {
		t.Fatalf("a stage after a delete made room: %v", err)
	}
}
