package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/footlight/footlight/internal/record"
	"github.com/footlight/footlight/internal/rtc"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
)

// recordStages adapts the stage domain and the store to the recorder's narrow interface.
type recordStages struct {
	s  *stage.Service
	db *store.SQLite
}

func (r recordStages) GetStage(ctx context.Context, stageArn string) (*store.Stage, error) {
	return r.s.GetStage(ctx, stageArn)
}

func (r recordStages) StorageBucket(ctx context.Context, storageArn string) (string, error) {
	c, err := r.db.StorageConfigurations().Get(ctx, storageArn)
	if err != nil {
		return "", fmt.Errorf("storage configuration %s: %w", storageArn, err)
	}
	return c.BucketName, nil
}

func (r recordStages) SetRecording(ctx context.Context, stageArn, sessionID, participantID string, rs stage.RecordingStatus) error {
	return r.s.SetRecording(ctx, stageArn, sessionID, participantID, rs)
}

// rtcRecorder adapts the recorder to the media plane's narrow interface.
type rtcRecorder struct{ r *record.Recorder }

func (a rtcRecorder) Record(ctx context.Context, p rtc.RecordedPublish) (rtc.Recording, error) {
	pub := record.Publish{StageArn: p.StageArn, SessionID: p.SessionID, ParticipantID: p.ParticipantID}
	for _, t := range p.Tracks {
		pub.Tracks = append(pub.Tracks, record.Track{Codec: codecOf(t.MimeType), ClockRate: t.ClockRate, RequestKeyframe: t.RequestKeyframe})
	}
	piece, err := a.r.Record(ctx, pub)
	if piece == nil {
		return nil, err // a plain nil, not a nil *record.Piece in the interface
	}
	return rtcPiece{piece}, err
}

// codecOf maps a negotiated MIME type to the recorder's codecs; 0 for one it does not record.
func codecOf(mime string) record.Codec {
	switch strings.ToLower(mime) {
	case "video/h264":
		return record.H264
	case "video/vp8":
		return record.VP8
	case "audio/opus":
		return record.Opus
	}
	return 0
}

type rtcPiece struct{ p *record.Piece }

func (x rtcPiece) Sink(i int) rtc.PacketSink {
	if s := x.p.Sink(i); s != nil {
		return s
	}
	return nil
}

func (x rtcPiece) Close() { x.p.Close() }
