// Package stage is the domain of stages: their lifecycle, recording configuration, endpoints
// and the participant tokens issued for them. It does no network or SQL I/O of its own; state
// goes through the Store it is given.
package stage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

// Store is what the stage domain needs from storage.
type Store interface {
	Stages() store.Repo[store.Stage]
	CreateStageWithTokens(ctx context.Context, st *store.Stage, tokens []store.ParticipantToken, guards ...store.Guard) error
	CreateParticipantToken(ctx context.Context, t *store.ParticipantToken) error
	ApplyLive(ctx context.Context, writes []store.LiveWrite) error
	CloseOpenSessions(ctx context.Context, at time.Time) (int, error)
	Revoke(ctx context.Context, stageArn, participantID, reason string, at time.Time) error
	Revoked(ctx context.Context, stageArn, participantID string) (bool, error)
	KnownParticipant(ctx context.Context, stageArn, participantID string) (bool, error)
	Participant(ctx context.Context, stageArn, sessionID, participantID string) (*store.Participant, error)
}

// Config wires a Service. Zero values get the defaults given.
type Config struct {
	Store              Store
	Region             string
	Account            string
	Endpoints          EndpointConfig
	MaxPublishers      int           // default DefaultMaxPublishers
	SessionGracePeriod time.Duration // how long a session outlives its last participant; default 10 s
	Logger             *slog.Logger
	Now                func() time.Time
}

// Service runs the stage domain. It is safe for concurrent use.
type Service struct {
	cfg       Config
	endpoints Endpoints // cfg.Endpoints.Build(""), built once: every stage shares all but WHIP's end
	live      live
	journal   *journal
}

// New returns a Service; Run must be running for live state to be persisted.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxPublishers == 0 {
		cfg.MaxPublishers = DefaultMaxPublishers
	}
	if cfg.SessionGracePeriod == 0 {
		cfg.SessionGracePeriod = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, endpoints: cfg.Endpoints.Build(""), live: live{stages: map[string]*liveStage{}, revoked: map[string]bool{}}}
	s.journal = newJournal(cfg.Store.ApplyLive, cfg.Logger.With("component", "stage"))
	return s
}

// Recover ends the sessions a previous run left open: every connection died with it. It must
// finish before the node serves requests, or a reader would see a session that is already over.
func (s *Service) Recover(ctx context.Context) error {
	n, err := s.cfg.Store.CloseOpenSessions(ctx, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	if n > 0 {
		s.cfg.Logger.Info("ended sessions left open by the previous run", "sessions", n)
	}
	return nil
}

// Run persists live state until ctx ends, writing what is pending before it returns.
func (s *Service) Run(ctx context.Context) error {
	s.journal.run(ctx)
	return nil
}

// Flush waits until every live change made so far is persisted.
func (s *Service) Flush() { s.journal.flush() }

// CreateStageParams is a CreateStage request, already validated against the wire model.
type CreateStageParams struct {
	Name      string
	Tags      map[string]string
	Recording *RecordingInput
	Tokens    []TokenParams
	// MaxStages, when positive, is how many stages may exist: beyond it the create fails with
	// store.ErrLimit, checked in the create's own transaction.
	MaxStages int
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
	var guards []store.Guard
	if p.MaxStages > 0 {
		guards = append(guards, store.Limit(arn.TypeStage, p.MaxStages))
	}
	if err := s.cfg.Store.CreateStageWithTokens(ctx, st, tokens, guards...); err != nil {
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

// DeleteStage deletes the stage and the records of its tokens, disconnects everyone on it
// (reason STAGE_DELETED) and ends its session.
func (s *Service) DeleteStage(ctx context.Context, stageArn string) error {
	if err := s.cfg.Store.Stages().Delete(ctx, stageArn); err != nil {
		return fmt.Errorf("delete stage: %w", err)
	}
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	var kicks []func()
	if st := s.live.stages[stageArn]; st != nil {
		kicks = s.kickLocked(st, "", ReasonStageDeleted)
		s.notifyLocked(st, Change{Type: ChangeStageDeleted, Time: now})
		for w := range st.watchers {
			close(w.ch)
		}
		st.watchers = map[*watcher]struct{}{}
		s.endSessionLocked(st, now)
	}
	s.live.mu.Unlock()
	for _, k := range kicks {
		k()
	}
	return nil
}

// Disconnect revokes a participant for good and closes all its connections; every other
// participant hears of it (a PARTICIPANT_LEFT change with reason PARTICIPANT_DISCONNECTED).
// ErrNotFound when the stage has no such participant (no token issued for it, never joined).
func (s *Service) Disconnect(ctx context.Context, stageArn, participantID, reason string) error {
	if _, err := s.cfg.Store.Stages().Get(ctx, stageArn); err != nil {
		return fmt.Errorf("disconnect %s: %w", participantID, err)
	}
	s.live.mu.Lock()
	st := s.live.stages[stageArn]
	connected := st != nil && st.participants[participantID] != nil && len(st.participants[participantID].conns) > 0
	s.live.mu.Unlock()
	if !connected {
		known, err := s.cfg.Store.KnownParticipant(ctx, stageArn, participantID)
		if err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("disconnect %s: %w", participantID, &store.NotFoundError{Type: "participant", ID: participantID})
		}
	}
	// Durable first: once the API answers, the token can never connect again, even after a crash.
	if err := s.cfg.Store.Revoke(ctx, stageArn, participantID, reason, s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.live.mu.Lock()
	s.live.revoked[stageArn+"/"+participantID] = true
	var kicks []func()
	if st := s.live.stages[stageArn]; st != nil {
		kicks = s.kickLocked(st, participantID, ReasonDisconnected)
	}
	s.live.mu.Unlock()
	for _, k := range kicks {
		k()
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
	e := s.endpoints // Build(id) differs from Build("") only by id at the end of WHIP
	e.WHIP += a.ID
	return e
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
