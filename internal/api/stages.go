package api

import (
	"context"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
)

type recordingIn struct {
	StorageConfigurationArn string   `json:"storageConfigurationArn"`
	MediaTypes              []string `json:"mediaTypes"`
	ThumbnailConfiguration  *struct {
		TargetIntervalSeconds *int     `json:"targetIntervalSeconds"`
		Storage               []string `json:"storage"`
		RecordingMode         string   `json:"recordingMode"`
	} `json:"thumbnailConfiguration"`
	RecordingReconnectWindowSeconds int `json:"recordingReconnectWindowSeconds"`
	HLSConfiguration                *struct {
		TargetSegmentDurationSeconds *int `json:"targetSegmentDurationSeconds"`
	} `json:"hlsConfiguration"`
	RecordParticipantReplicas *bool `json:"recordParticipantReplicas"`
}

func (r *recordingIn) domain() *stage.RecordingInput {
	if r == nil {
		return nil
	}
	in := &stage.RecordingInput{
		StorageConfigurationArn:   r.StorageConfigurationArn,
		MediaTypes:                r.MediaTypes,
		ReconnectWindowSeconds:    r.RecordingReconnectWindowSeconds,
		RecordParticipantReplicas: r.RecordParticipantReplicas,
	}
	if t := r.ThumbnailConfiguration; t != nil {
		in.Thumbnail = &stage.ThumbnailInput{TargetIntervalSeconds: t.TargetIntervalSeconds, Storage: t.Storage, RecordingMode: t.RecordingMode}
	}
	if r.HLSConfiguration != nil {
		in.TargetSegmentSeconds = r.HLSConfiguration.TargetSegmentDurationSeconds
	}
	return in
}

type recordingOut struct {
	StorageConfigurationArn string   `json:"storageConfigurationArn"`
	MediaTypes              []string `json:"mediaTypes"`
	ThumbnailConfiguration  struct {
		TargetIntervalSeconds int      `json:"targetIntervalSeconds"`
		Storage               []string `json:"storage"`
		RecordingMode         string   `json:"recordingMode"`
	} `json:"thumbnailConfiguration"`
	RecordingReconnectWindowSeconds int `json:"recordingReconnectWindowSeconds"`
	HLSConfiguration                struct {
		TargetSegmentDurationSeconds int `json:"targetSegmentDurationSeconds"`
	} `json:"hlsConfiguration"`
	RecordParticipantReplicas bool `json:"recordParticipantReplicas"`
}

type endpointsOut struct {
	Events string `json:"events"`
	WHIP   string `json:"whip"`
	RTMP   string `json:"rtmp"`
	RTMPS  string `json:"rtmps"`
}

type stageOut struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ActiveSessionID string            `json:"activeSessionId"`
	Tags            map[string]string `json:"tags"`
	Recording       recordingOut      `json:"autoParticipantRecordingConfiguration"`
	Endpoints       endpointsOut      `json:"endpoints"`
}

type stageSummaryOut struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ActiveSessionID string            `json:"activeSessionId"`
	Tags            map[string]string `json:"tags"`
}

func (a *API) stageOut(st *store.Stage) *stageOut {
	out := &stageOut{Arn: st.Arn, Name: st.Name, ActiveSessionID: a.cfg.Stages.ActiveSessionID(st.Arn), Tags: tagsOut(st.Tags)}
	r, o := st.Recording, &out.Recording
	o.StorageConfigurationArn, o.MediaTypes = r.StorageConfigurationArn, r.MediaTypes
	o.ThumbnailConfiguration.TargetIntervalSeconds = r.Thumbnail.TargetIntervalSeconds
	o.ThumbnailConfiguration.Storage = r.Thumbnail.Storage
	o.ThumbnailConfiguration.RecordingMode = r.Thumbnail.RecordingMode
	o.RecordingReconnectWindowSeconds = r.ReconnectWindowSeconds
	o.HLSConfiguration.TargetSegmentDurationSeconds = r.HLSTargetSegmentDurationSeconds
	o.RecordParticipantReplicas = r.RecordParticipantReplicas
	e := a.cfg.Stages.Endpoints(st.Arn)
	out.Endpoints = endpointsOut{Events: e.Events, WHIP: e.WHIP, RTMP: e.RTMP, RTMPS: e.RTMPS}
	return out
}

type createStageInput struct {
	Name                           string                        `json:"name"`
	ParticipantTokenConfigurations []participantTokenConfigInput `json:"participantTokenConfigurations"`
	Tags                           map[string]string             `json:"tags"`
	Recording                      *recordingIn                  `json:"autoParticipantRecordingConfiguration"`
}

type createStageOutput struct {
	Stage             *stageOut             `json:"stage"`
	ParticipantTokens []participantTokenOut `json:"participantTokens,omitempty"`
}

func (a *API) createStage(ctx context.Context, in *createStageInput) (*createStageOutput, error) {
	p := stage.CreateStageParams{Name: in.Name, Tags: in.Tags, Recording: in.Recording.domain(), MaxStages: a.resourceQuota(arn.TypeStage)}
	for _, c := range in.ParticipantTokenConfigurations {
		p.Tokens = append(p.Tokens, c.domain())
	}
	st, tokens, err := a.cfg.Stages.CreateStage(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &createStageOutput{Stage: a.stageOut(st)}
	for i := range tokens {
		t, err := a.participantTokenOut(&tokens[i])
		if err != nil {
			return nil, err
		}
		out.ParticipantTokens = append(out.ParticipantTokens, *t)
	}
	return out, nil
}

type arnInput struct {
	Arn string `json:"arn"`
}

type stageOutput struct {
	Stage *stageOut `json:"stage"`
}

func (a *API) getStage(ctx context.Context, in *arnInput) (*stageOutput, error) {
	st, err := a.cfg.Stages.GetStage(ctx, in.Arn)
	if err != nil {
		return nil, err
	}
	return &stageOutput{Stage: a.stageOut(st)}, nil
}

type updateStageInput struct {
	Arn       string       `json:"arn"`
	Name      *string      `json:"name"`
	Recording *recordingIn `json:"autoParticipantRecordingConfiguration"`
}

func (a *API) updateStage(ctx context.Context, in *updateStageInput) (*stageOutput, error) {
	st, err := a.cfg.Stages.UpdateStage(ctx, in.Arn, in.Name, in.Recording.domain())
	if err != nil {
		return nil, err
	}
	return &stageOutput{Stage: a.stageOut(st)}, nil
}

type empty struct{}

func (a *API) deleteStage(ctx context.Context, in *arnInput) (*empty, error) {
	return &empty{}, a.cfg.Stages.DeleteStage(ctx, in.Arn)
}

type listStagesOutput struct {
	Stages    []stageSummaryOut `json:"stages"`
	NextToken string            `json:"nextToken,omitempty"`
}

func (a *API) listStages(ctx context.Context, in *pageInput) (*listStagesOutput, error) {
	stages, next, err := a.cfg.Stages.ListStages(ctx, in.page(50))
	if err != nil {
		return nil, err
	}
	out := &listStagesOutput{Stages: make([]stageSummaryOut, len(stages)), NextToken: next}
	for i, st := range stages {
		out.Stages[i] = stageSummaryOut{Arn: st.Arn, Name: st.Name, ActiveSessionID: a.cfg.Stages.ActiveSessionID(st.Arn), Tags: tagsOut(st.Tags)}
	}
	return out, nil
}
