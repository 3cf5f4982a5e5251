package stage

import (
	"context"
	"fmt"

	"github.com/footlight/footlight/internal/store"
)

// RecordingInput is an autoParticipantRecordingConfiguration as a client sent it: nil
// pointers and empty lists are members it left out.
type RecordingInput struct {
	StorageConfigurationArn   string
	MediaTypes                []string
	Thumbnail                 *ThumbnailInput
	ReconnectWindowSeconds    int // not boxed in the model: absent and 0 are the same
	TargetSegmentSeconds      *int
	RecordParticipantReplicas *bool
}

// ThumbnailInput is a thumbnailConfiguration as sent.
type ThumbnailInput struct {
	TargetIntervalSeconds *int
	Storage               []string
	RecordingMode         string
}

// DefaultRecording is the configuration of a stage created without one (SPEC §10).
func DefaultRecording() store.Recording {
	return store.Recording{
		MediaTypes: []string{"AUDIO_VIDEO"},
		Thumbnail: store.Thumbnail{
			TargetIntervalSeconds: 60,
			Storage:               []string{"SEQUENTIAL"},
			RecordingMode:         "DISABLED",
		},
		HLSTargetSegmentDurationSeconds: 6,
		RecordParticipantReplicas:       true,
	}
}

// Resolve applies the documented defaults to what the client sent. An empty
// storageConfigurationArn disables recording and "other fields ... get reset to their
// defaults" (SPEC §6).
func (in *RecordingInput) Resolve() store.Recording {
	r := DefaultRecording()
	if in == nil || in.StorageConfigurationArn == "" {
		return r
	}
	r.StorageConfigurationArn = in.StorageConfigurationArn
	if len(in.MediaTypes) > 0 {
		r.MediaTypes = in.MediaTypes
	}
	if t := in.Thumbnail; t != nil {
		if t.TargetIntervalSeconds != nil {
			r.Thumbnail.TargetIntervalSeconds = *t.TargetIntervalSeconds
		}
		if len(t.Storage) > 0 {
			r.Thumbnail.Storage = t.Storage
		}
		if t.RecordingMode != "" {
			r.Thumbnail.RecordingMode = t.RecordingMode
		}
	}
	r.ReconnectWindowSeconds = in.ReconnectWindowSeconds
	if in.TargetSegmentSeconds != nil {
		r.HLSTargetSegmentDurationSeconds = *in.TargetSegmentSeconds
	}
	// SPEC §10: the documented default is true although the Smithy default is false.
	if in.RecordParticipantReplicas != nil {
		r.RecordParticipantReplicas = *in.RecordParticipantReplicas
	}
	return r
}

// Recording states of a participant (SPEC: ParticipantRecordingState).
const (
	RecordingStarting = "STARTING"
	RecordingActive   = "ACTIVE"
	RecordingStopping = "STOPPING"
	RecordingStopped  = "STOPPED"
	RecordingFailed   = "FAILED"
)

// RecordingStatus is where a participant's recording is and how it stands.
type RecordingStatus struct {
	Bucket string
	Prefix string
	State  string // one of the Recording* states
}

// SetRecording records a participant's recording status on its record of that session: on
// the live participant while the session runs, else on the stored record (a recording ends
// after its reconnect window, often after the session it started in).
func (s *Service) SetRecording(ctx context.Context, stageArn, sessionID, participantID string, rs RecordingStatus) error {
	s.live.mu.Lock()
	if st := s.live.stages[stageArn]; st != nil && st.session != nil && st.session.SessionID == sessionID {
		if lp := st.participants[participantID]; lp != nil {
			lp.rec.RecordingS3BucketName, lp.rec.RecordingS3Prefix, lp.rec.RecordingState = rs.Bucket, rs.Prefix, rs.State
			s.saveLocked(lp)
			s.live.mu.Unlock()
			return nil
		}
	}
	s.live.mu.Unlock()
	s.journal.flush() // the participant's last live write must land before we rewrite it
	p, err := s.cfg.Store.Participant(ctx, stageArn, sessionID, participantID)
	if err != nil {
		return fmt.Errorf("set recording state of %s: %w", participantID, err)
	}
	p.RecordingS3BucketName, p.RecordingS3Prefix, p.RecordingState = rs.Bucket, rs.Prefix, rs.State
	if err := s.cfg.Store.ApplyLive(ctx, []store.LiveWrite{{Participant: p}}); err != nil {
		return fmt.Errorf("set recording state of %s: %w", participantID, err)
	}
	return nil
}
