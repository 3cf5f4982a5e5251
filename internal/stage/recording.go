package stage

import "github.com/footlight/footlight/internal/store"

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
