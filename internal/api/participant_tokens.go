package api

import (
	"context"
	"fmt"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
	"github.com/footlight/footlight/internal/token"
)

type participantTokenConfigInput struct {
	Duration     *int              `json:"duration"`
	UserID       string            `json:"userId"`
	Attributes   map[string]string `json:"attributes"`
	Capabilities []string          `json:"capabilities"`
}

func (c participantTokenConfigInput) domain() stage.TokenParams {
	return stage.TokenParams{Duration: c.Duration, UserID: c.UserID, Attributes: c.Attributes, Capabilities: c.Capabilities}
}

type participantTokenOut struct {
	ParticipantID  string            `json:"participantId"`
	Token          string            `json:"token"`
	UserID         string            `json:"userId"`
	Attributes     map[string]string `json:"attributes"`
	Duration       int               `json:"duration"`
	Capabilities   []string          `json:"capabilities"`
	ExpirationTime string            `json:"expirationTime"`
}

// participantTokenOut signs the token a record describes; its claims carry the stage's
// endpoints so a client finds them in the token (DESIGN.md "Participant token").
func (a *API) participantTokenOut(t *store.ParticipantToken) (*participantTokenOut, error) {
	stageARN, err := arn.Parse(t.StageArn)
	if err != nil {
		return nil, fmt.Errorf("mint token for %s: %w", t.StageArn, err)
	}
	e := a.cfg.Stages.Endpoints(t.StageArn)
	c := token.Claims{
		ParticipantID: t.ParticipantID,
		StageArn:      t.StageArn,
		StageID:       stageARN.ID,
		UserID:        t.UserID,
		Attributes:    t.Attributes,
		EventsURL:     e.Events,
		WhipURL:       e.WHIP,
		IssuedAt:      t.CreatedAt,
		ExpiresAt:     t.ExpirationTime,
	}
	for _, cap := range t.Capabilities {
		c.Publish = c.Publish || cap == stage.CapabilityPublish
		c.Subscribe = c.Subscribe || cap == stage.CapabilitySubscribe
	}
	signed, err := a.cfg.Minter.Mint(c)
	if err != nil {
		return nil, fmt.Errorf("mint token for %s: %w", t.StageArn, err)
	}
	return &participantTokenOut{
		ParticipantID:  t.ParticipantID,
		Token:          signed,
		UserID:         t.UserID,
		Attributes:     tagsOut(t.Attributes),
		Duration:       t.Duration,
		Capabilities:   t.Capabilities,
		ExpirationTime: isoTime(t.ExpirationTime),
	}, nil
}

type createParticipantTokenInput struct {
	StageArn string `json:"stageArn"`
	participantTokenConfigInput
}

type createParticipantTokenOutput struct {
	ParticipantToken *participantTokenOut `json:"participantToken"`
}

func (a *API) createParticipantToken(ctx context.Context, in *createParticipantTokenInput) (*createParticipantTokenOutput, error) {
	t, err := a.cfg.Stages.CreateParticipantToken(ctx, in.StageArn, in.domain())
	if err != nil {
		return nil, err
	}
	out, err := a.participantTokenOut(t)
	if err != nil {
		return nil, err
	}
	return &createParticipantTokenOutput{ParticipantToken: out}, nil
}
