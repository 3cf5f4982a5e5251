// Package stage is the domain of stages: their lifecycle, recording configuration, endpoints
// and the participant tokens issued for them. It does no network or SQL I/O of its own; state
// goes through the Store it is given.
package stage

import (
	"context"
	"fmt"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

// Store is what the stage domain needs from storage.
type Store interface {
	Stages() store.Repo[store.Stage]
	CreateStageWithTokens(ctx context.Context, st *store.Stage, tokens []store.ParticipantToken) error
	CreateParticipantToken(ctx context.Context, t *store.ParticipantToken) error
}

// Config wires a Service. Zero Now means time.Now.
type Config struct {
	Store     Store
	Region    string
	Account   string
	Endpoints EndpointConfig
	Now       func() time.Time
}

// Service runs the stage domain. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// CreateStageParams is a CreateStage request, already validated against the wire model.
type CreateStageParams struct {
	Name      string
	Tags      map[string]string
	Recording *RecordingInput
	Tokens    []TokenParams
}

// CreateStage stores a new stage with the tokens asked for, all or nothing.
func (s *Service) CreateStage(ctx context.Context, p CreateStageParams) (*store.Stage, []store.ParticipantToken, error) {
	st := &store.Stage{
		Arn:       arn.ARN{Region: s.cfg.Region, Account: s.cfg.Account, Type: arn.TypeStage, ID: arn.RandomID(arn.ResourceIDLength)}.String(),
		Name:      p.Name,
		Recording: p.Recording.Resolve(),
		Tags:      nonNil(p.Tags),
		CreatedAt: s.cfg.Now().UTC(),
	}
	tokens := make([]store.ParticipantToken, len(p.Tokens))
	for i, tp := range p.Tokens {
		tokens[i] = s.newToken(st.Arn, tp)
	}
	if err := s.cfg.Store.CreateStageWithTokens(ctx, st, tokens); err != nil {
		return nil, nil, fmt.Errorf("create stage: %w", err)
	}
	return st, tokens, nil
}

// GetStage returns the stage with that ARN.
func (s *Service) GetStage(ctx context.Context, stageArn string) (*store.Stage, error) {
	st, err := s.cfg.Store.Stages().Get(ctx, stageArn)
	if err != nil {
		return nil, fmt.Errorf("get stage: %w", err)
	}
	return st, nil
}

// UpdateStage changes the members given: a nil name or recording is left as it is.
func (s *Service) UpdateStage(ctx context.Context, stageArn string, name *string, rec *RecordingInput) (*store.Stage, error) {
	st, err := s.cfg.Store.Stages().Update(ctx, stageArn, func(st *store.Stage) error {
		if name != nil {
			st.Name = *name
		}
		if rec != nil {
			st.Recording = rec.Resolve()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update stage: %w", err)
	}
	return st, nil
}

// DeleteStage deletes the stage and the records of its tokens.
func (s *Service) DeleteStage(ctx context.Context, stageArn string) error {
	if err := s.cfg.Store.Stages().Delete(ctx, stageArn); err != nil {
		return fmt.Errorf("delete stage: %w", err)
	}
	return nil
}

// ListStages returns one page of stages in creation order.
func (s *Service) ListStages(ctx context.Context, p store.Page) ([]store.Stage, string, error) {
	out, next, err := s.cfg.Store.Stages().List(ctx, p)
	if err != nil {
		return nil, "", fmt.Errorf("list stages: %w", err)
	}
	return out, next, nil
}

// Endpoints returns the endpoints of a stage.
func (s *Service) Endpoints(stageArn string) Endpoints {
	a, _ := arn.Parse(stageArn)
	return s.cfg.Endpoints.Build(a.ID)
}

// ActiveSessionID returns the stage's running session id, or "" when the stage is idle, as
// IVS reports it (IVS-BEHAVIOUR §4). No participant can join before the media plane exists,
// so every stage is idle here.
func (s *Service) ActiveSessionID(stageArn string) string { return "" }

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
