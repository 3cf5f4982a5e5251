package stage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

// Capabilities a token may grant.
const (
	CapabilityPublish   = "PUBLISH"
	CapabilitySubscribe = "SUBSCRIBE"
)

// DefaultTokenMinutes is a token's lifetime when the request names none (SPEC §10).
const DefaultTokenMinutes = 720

// TokenParams asks for one participant token. Nil Duration means the default; nil
// Capabilities means both, while an empty, non-nil list grants none.
type TokenParams struct {
	Duration     *int
	UserID       string
	Attributes   map[string]string
	Capabilities []string
}

// CreateParticipantToken issues a token record for an existing stage.
func (s *Service) CreateParticipantToken(ctx context.Context, stageArn string, p TokenParams) (*store.ParticipantToken, error) {
	t := s.newToken(stageArn, p)
	if err := s.cfg.Store.CreateParticipantToken(ctx, &t); err != nil {
		return nil, fmt.Errorf("create participant token: %w", err)
	}
	return &t, nil
}

func (s *Service) newToken(stageArn string, p TokenParams) store.ParticipantToken {
	minutes := DefaultTokenMinutes
	if p.Duration != nil {
		minutes = *p.Duration
	}
	caps := []string{CapabilityPublish, CapabilitySubscribe}
	if p.Capabilities != nil {
		caps = []string{}
		for _, c := range p.Capabilities {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	// JWT times are whole seconds; the record keeps the same precision so token and API agree.
	now := s.cfg.Now().UTC().Truncate(time.Second)
	return store.ParticipantToken{
		ParticipantID:  arn.NewParticipantID(),
		StageArn:       stageArn,
		UserID:         p.UserID,
		Attributes:     nonNil(p.Attributes),
		Capabilities:   caps,
		Duration:       minutes,
		ExpirationTime: now.Add(time.Duration(minutes) * time.Minute),
		CreatedAt:      now,
	}
}
