package api

import (
	"context"

	"github.com/footlight/footlight/internal/store"
)

// Sessions is what the session, participant and event operations read.
type Sessions interface {
	StageSession(ctx context.Context, stageArn, sessionID string) (*store.StageSession, error)
	ListStageSessions(ctx context.Context, stageArn string, p store.Page) ([]store.StageSession, string, error)
	Participant(ctx context.Context, stageArn, sessionID, participantID string) (*store.Participant, error)
	ListParticipants(ctx context.Context, stageArn, sessionID string, f store.ParticipantFilter, p store.Page) ([]store.Participant, string, error)
	ListParticipantEvents(ctx context.Context, stageArn, sessionID, participantID string, p store.Page) ([]store.ParticipantEvent, string, error)
}

type stageSessionOut struct {
	SessionID string  `json:"sessionId"`
	StartTime string  `json:"startTime"`
	EndTime   *string `json:"endTime,omitempty"` // absent while the session runs (SPEC §6)
}

func stageSessionOf(s *store.StageSession) stageSessionOut {
	out := stageSessionOut{SessionID: s.SessionID, StartTime: isoTime(s.StartTime)}
	if s.EndTime != nil {
		end := isoTime(*s.EndTime)
		out.EndTime = &end
	}
	return out
}

type listStageSessionsInput struct {
	StageArn string `json:"stageArn"`
	pageInput
}

type listStageSessionsOutput struct {
	StageSessions []stageSessionOut `json:"stageSessions"`
	NextToken     string            `json:"nextToken,omitempty"`
}

// listStageSessions lists a stage's sessions, newest first, ended ones with their end times.
func (a *API) listStageSessions(ctx context.Context, in *listStageSessionsInput) (*listStageSessionsOutput, error) {
	a.settleLive()
	list, next, err := a.cfg.Sessions.ListStageSessions(ctx, in.StageArn, in.page(50))
	if err != nil {
		return nil, err
	}
	out := &listStageSessionsOutput{StageSessions: make([]stageSessionOut, len(list)), NextToken: next}
	for i := range list {
		out.StageSessions[i] = stageSessionOf(&list[i])
	}
	return out, nil
}

type sessionInput struct {
	StageArn  string `json:"stageArn"`
	SessionID string `json:"sessionId"`
}

type getStageSessionOutput struct {
	StageSession stageSessionOut `json:"stageSession"`
}

func (a *API) getStageSession(ctx context.Context, in *sessionInput) (*getStageSessionOutput, error) {
	a.settleLive()
	s, err := a.cfg.Sessions.StageSession(ctx, in.StageArn, in.SessionID)
	if err != nil {
		return nil, err
	}
	return &getStageSessionOutput{stageSessionOf(s)}, nil
}

// settleLive waits until the live state's writes so far are in the store: the stage domain
// persists them behind the media plane (stage.Service's journal), and a reader that saw a
// session end in GetStage must find its endTime here.
func (a *API) settleLive() {
	if a.cfg.Stages != nil {
		a.cfg.Stages.Flush()
	}
}
