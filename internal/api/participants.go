package api

import (
	"context"

	"github.com/footlight/footlight/internal/store"
)

type participantSummaryOut struct {
	ParticipantID   string `json:"participantId"`
	UserID          string `json:"userId"`
	State           string `json:"state"`
	FirstJoinTime   string `json:"firstJoinTime"`
	Published       bool   `json:"published"`
	RecordingState  string `json:"recordingState"`
	ReplicationType string `json:"replicationType"`
	RedundantIngest bool   `json:"redundantIngest"`
}

type participantOut struct {
	participantSummaryOut
	Attributes            map[string]string `json:"attributes"`
	OSName                string            `json:"osName,omitempty"`
	OSVersion             string            `json:"osVersion,omitempty"`
	BrowserName           string            `json:"browserName,omitempty"`
	BrowserVersion        string            `json:"browserVersion,omitempty"`
	SDKVersion            string            `json:"sdkVersion,omitempty"`
	Protocol              string            `json:"protocol"`
	RecordingS3BucketName string            `json:"recordingS3BucketName"`
	RecordingS3Prefix     string            `json:"recordingS3Prefix"`
}

func participantSummaryOf(p *store.Participant) participantSummaryOut {
	return participantSummaryOut{
		ParticipantID: p.ParticipantID, UserID: p.UserID, State: p.State, FirstJoinTime: isoTime(p.FirstJoinTime),
		Published: p.Published, RecordingState: p.RecordingState, ReplicationType: "NONE",
	}
}

type listParticipantsInput struct {
	StageArn               string  `json:"stageArn"`
	SessionID              string  `json:"sessionId"`
	FilterByUserID         *string `json:"filterByUserId"`
	FilterByPublished      bool    `json:"filterByPublished"`
	FilterByState          string  `json:"filterByState"`
	FilterByRecordingState string  `json:"filterByRecordingState"`
	pageInput
}

type listParticipantsOutput struct {
	Participants []participantSummaryOut `json:"participants"`
	NextToken    string                  `json:"nextToken,omitempty"`
}

// listParticipants applies at most one filter; the validator refused requests with several.
func (a *API) listParticipants(ctx context.Context, in *listParticipantsInput) (*listParticipantsOutput, error) {
	f := store.ParticipantFilter{UserID: in.FilterByUserID, Published: in.FilterByPublished, State: in.FilterByState, RecordingState: in.FilterByRecordingState}
	a.settleLive()
	list, next, err := a.cfg.Sessions.ListParticipants(ctx, in.StageArn, in.SessionID, f, in.page(50))
	if err != nil {
		return nil, err
	}
	out := &listParticipantsOutput{Participants: make([]participantSummaryOut, len(list)), NextToken: next}
	for i := range list {
		out.Participants[i] = participantSummaryOf(&list[i])
	}
	return out, nil
}

type participantInput struct {
	StageArn      string `json:"stageArn"`
	SessionID     string `json:"sessionId"`
	ParticipantID string `json:"participantId"`
}

type getParticipantOutput struct {
	Participant participantOut `json:"participant"`
}

func (a *API) getParticipant(ctx context.Context, in *participantInput) (*getParticipantOutput, error) {
	a.settleLive()
	p, err := a.cfg.Sessions.Participant(ctx, in.StageArn, in.SessionID, in.ParticipantID)
	if err != nil {
		return nil, err
	}
	return &getParticipantOutput{participantOut{
		participantSummaryOut: participantSummaryOf(p), Attributes: tagsOut(p.Attributes),
		OSName: p.OSName, OSVersion: p.OSVersion, BrowserName: p.BrowserName, BrowserVersion: p.BrowserVersion,
		SDKVersion: p.SDKVersion, Protocol: p.Protocol,
		RecordingS3BucketName: p.RecordingS3BucketName, RecordingS3Prefix: p.RecordingS3Prefix,
	}}, nil
}

type eventOut struct {
	Name                string  `json:"name"`
	ParticipantID       string  `json:"participantId"`
	EventTime           string  `json:"eventTime"`
	RemoteParticipantID *string `json:"remoteParticipantId"` // null for join and publish events (SPEC §6)
	ErrorCode           *string `json:"errorCode"`           // null unless an error event
	Replica             bool    `json:"replica"`
}

type listParticipantEventsInput struct {
	participantInput
	pageInput
}

type listParticipantEventsOutput struct {
	Events    []eventOut `json:"events"`
	NextToken string     `json:"nextToken,omitempty"`
}

// listParticipantEvents lists one participant's events of a session, oldest first.
func (a *API) listParticipantEvents(ctx context.Context, in *listParticipantEventsInput) (*listParticipantEventsOutput, error) {
	a.settleLive()
	list, next, err := a.cfg.Sessions.ListParticipantEvents(ctx, in.StageArn, in.SessionID, in.ParticipantID, in.page(50))
	if err != nil {
		return nil, err
	}
	out := &listParticipantEventsOutput{Events: make([]eventOut, len(list)), NextToken: next}
	for i, e := range list {
		out.Events[i] = eventOut{Name: e.Name, ParticipantID: e.ParticipantID, EventTime: isoTime(e.EventTime),
			RemoteParticipantID: optional(e.RemoteParticipantID), ErrorCode: optional(e.ErrorCode)}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type disconnectParticipantInput struct {
	StageArn      string `json:"stageArn"`
	ParticipantID string `json:"participantId"`
	Reason        string `json:"reason"`
}

// disconnectParticipant closes the participant's connections and refuses its token for good.
func (a *API) disconnectParticipant(ctx context.Context, in *disconnectParticipantInput) (*empty, error) {
	return &empty{}, a.cfg.Stages.Disconnect(ctx, in.StageArn, in.ParticipantID, in.Reason)
}
