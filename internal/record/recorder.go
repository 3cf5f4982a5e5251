// Package record records each publishing participant of a stage to object storage as IVS's
// individual participant recording does: fMP4 HLS segments remuxed as they arrive (never
// transcoded), thumbnails, and the recording-started/ended/failed event files, under
// <stageId>/<sessionId>/<participantId>/<timestamp>. It spools every closed segment to
// local disk before uploading it, so a store that is down, slow or a crash loses nothing
// closed; and it never holds up the media plane, which only copies packets into its rings.
package record

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/storage"
	"github.com/footlight/footlight/internal/store"
)

// Stages is what the recorder needs of the stage domain.
type Stages interface {
	GetStage(ctx context.Context, stageArn string) (*store.Stage, error)
	// StorageBucket returns the bucket of a storage configuration.
	StorageBucket(ctx context.Context, storageConfigurationArn string) (string, error)
	SetRecording(ctx context.Context, stageArn, sessionID, participantID string, rs stage.RecordingStatus) error
}

// Config wires a Recorder. Zero values get the defaults given.
type Config struct {
	Storage  storage.Store // where recordings go
	Stages   Stages
	SpoolDir string // local outbox of segments not yet stored; required
	FFmpeg   string // the ffmpeg binary that makes H.264 thumbnails; default "ffmpeg"
	Logger   *slog.Logger
	Now      func() time.Time
}

// Publish is one participant's publish to record.
type Publish struct {
	StageArn      string
	SessionID     string
	ParticipantID string
	Tracks        []Track
}

// Recorder records publishes. Its methods are safe for concurrent use.
type Recorder struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // the uploaders'; cancelled by Close
	cancel context.CancelFunc

	recordMu sync.Mutex           // serializes Record, so two publishes of one participant never race
	starts   map[string]time.Time // the latest recording start per participant; guarded by recordMu

	mu      sync.Mutex            // guards live, all and closed
	live    map[string]*recording // recordings that may still take a piece, by key
	all     map[*recording]struct{}
	closed  bool
	workers sync.WaitGroup // uploaders and thumbnail workers; Close waits for them
}

// New returns a Recorder; call Recover before the media plane starts.
func New(cfg Config) *Recorder {
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Recorder{
		cfg: cfg, log: cfg.Logger.With("component", "record"), ctx: ctx, cancel: cancel,
		live: map[string]*recording{}, all: map[*recording]struct{}{}, starts: map[string]time.Time{},
	}
}

// Record starts recording a publish when its stage's autoParticipantRecordingConfiguration
// names a storage configuration; it returns nil, nil when the stage does not record. A
// participant publishing again within the reconnect window continues its recording.
func (r *Recorder) Record(ctx context.Context, p Publish) (*Piece, error) {
	st, err := r.cfg.Stages.GetStage(ctx, p.StageArn)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", p.ParticipantID, err)
	}
	cfg := st.Recording
	if cfg.StorageConfigurationArn == "" {
		return nil, nil
	}
	r.recordMu.Lock()
	defer r.recordMu.Unlock()
	key := p.StageArn + "/" + p.ParticipantID
	r.mu.Lock()
	old, closed := r.live[key], r.closed
	r.mu.Unlock()
	if closed {
		return nil, nil
	}
	if old != nil {
		if piece := old.resume(p, cfg.StorageConfigurationArn); piece != nil {
			return piece, nil
		}
		r.end(old, statusEnded, "")
	}
	bucket, err := r.cfg.Stages.StorageBucket(ctx, cfg.StorageConfigurationArn)
	if err != nil {
		r.setState(&state{StageArn: p.StageArn, Sessions: []string{p.SessionID}, ParticipantID: p.ParticipantID}, stage.RecordingFailed)
		return nil, fmt.Errorf("record %s: storage configuration %s: %w", p.ParticipantID, cfg.StorageConfigurationArn, err)
	}
	rec, err := r.start(p, cfg, bucket)
	if err != nil {
		r.setState(&state{StageArn: p.StageArn, Sessions: []string{p.SessionID}, ParticipantID: p.ParticipantID, Bucket: bucket}, stage.RecordingFailed)
		return nil, fmt.Errorf("record %s: %w", p.ParticipantID, err)
	}
	return rec.startPiece(p), nil
}

// start makes a new recording: its spool, its start event file, its workers.
func (r *Recorder) start(p Publish, cfg store.Recording, bucket string) (*recording, error) {
	// The prefix names the start to the second: two recordings of one participant in one
	// second would share it, so the later one starts on the next second.
	key := p.StageArn + "/" + p.ParticipantID
	now := r.cfg.Now().UTC().Truncate(time.Second)
	if last, ok := r.starts[key]; ok && !now.After(last) {
		now = last.Add(time.Second)
	}
	r.starts[key] = now
	stageID := ""
	if a, err := arn.Parse(p.StageArn); err == nil {
		stageID = a.ID
	}
	st := &state{
		Bucket: bucket, Prefix: strings.Join([]string{stageID, p.SessionID, p.ParticipantID, prefixTime(now)}, "/"),
		StageArn: p.StageArn, SessionID: p.SessionID, ParticipantID: p.ParticipantID,
		Sessions: []string{p.SessionID}, StartedAt: now,
		HLS: hasMedia(cfg.MediaTypes), TargetSeconds: cfg.HLSTargetSegmentDurationSeconds,
	}
	if cfg.Thumbnail.RecordingMode == "INTERVAL" {
		for _, s := range cfg.Thumbnail.Storage {
			st.Sequential = st.Sequential || s == "SEQUENTIAL"
			st.Latest = st.Latest || s == "LATEST"
		}
	}
	dir := filepath.Join(r.cfg.SpoolDir, randomID())
	rec := r.newRecording(spool{dir}, st, cfg.StorageConfigurationArn, cfg)
	if err := rec.sp.saveState(st); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := rec.sp.put(keyStarted, metadataJSON(st, false)); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	r.startUploader(rec)
	if st.Sequential || st.Latest {
		rec.thumbs, rec.thumbsDone = make(chan thumbJob, 2), make(chan struct{})
		r.workers.Go(func() { rec.runThumbnails(r.ctx) }) // ends when finalize closes thumbs
	}
	r.mu.Lock()
	r.live[rec.key] = rec
	r.mu.Unlock()
	r.setLatestState(st, stage.RecordingStarting)
	rec.log.Info("recording started", "bucket", bucket, "prefix", st.Prefix)
	return rec, nil
}

// newRecording makes a recording of st, spooled in sp; startUploader sets it going.
func (r *Recorder) newRecording(sp spool, st *state, storageArn string, cfg store.Recording) *recording {
	return &recording{
		r: r, key: st.StageArn + "/" + st.ParticipantID, storageArn: storageArn, cfg: cfg, sp: sp, st: st,
		log:  r.log.With("stage_arn", st.StageArn, "participant_id", st.ParticipantID),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// startUploader registers rec and starts its uploader (stopped by Close).
func (r *Recorder) startUploader(rec *recording) {
	r.mu.Lock()
	r.all[rec] = struct{}{}
	r.mu.Unlock()
	r.workers.Go(func() {
		rec.runUploader(r.ctx)
		r.mu.Lock()
		delete(r.all, rec)
		r.mu.Unlock()
	})
}

// startPiece starts the muxer of one publish.
func (rec *recording) startPiece(p Publish) *Piece {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	piece := &Piece{
		rec: rec, log: rec.log, base: rec.mediaEnd, nextThumb: rec.nextThumb,
		interval: time.Duration(max(rec.cfg.Thumbnail.TargetIntervalSeconds, 1)) * time.Second,
		thumbs:   rec.thumbs != nil,
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	for _, t := range p.Tracks {
		in := newTrackIn(t)
		piece.tracks = append(piece.tracks, in)
		if t.Codec.video() && piece.video == nil {
			piece.video = in
		} else if t.Codec == Opus && piece.audio == nil {
			piece.audio = in
		}
	}
	if rec.st.HLS {
		// VP8 has no fMP4 mapping in the muxer we use: such a publish is recorded as audio
		// (and thumbnails); docs/RECORDING.md says so.
		piece.layout.video = piece.video != nil && piece.video.Codec == H264 && !audioOnly(rec.cfg.MediaTypes)
		piece.layout.audio = piece.audio != nil
	}
	piece.seg = segmenter{layout: piece.layout, target: time.Duration(rec.st.TargetSeconds) * time.Second,
		emit: func(s closedSegment) error { return rec.addSegment(piece.layout, s) }}
	rec.piece, rec.pieceStarts = piece, true
	go piece.run() // stopped by piece.Close
	return piece
}

// resume continues rec with a new publish when it waits out its reconnect window with the
// same storage configuration; nil when it cannot.
func (rec *recording) resume(p Publish, storageArn string) *Piece {
	rec.mu.Lock()
	live := rec.piece
	rec.mu.Unlock()
	live.Close() // a publish that replaces a live one: the old piece ends first
	rec.mu.Lock()
	if rec.finalized || storageArn != rec.storageArn || rec.cfg.ReconnectWindowSeconds == 0 {
		rec.mu.Unlock()
		return nil
	}
	if rec.window != nil {
		fired := !rec.window.Stop()
		rec.window = nil
		if fired { // the window has just passed: the recording is ending
			rec.mu.Unlock()
			return nil
		}
	}
	if !slices.Contains(rec.st.Sessions, p.SessionID) {
		rec.st.Sessions = append(rec.st.Sessions, p.SessionID)
	}
	err := rec.sp.saveState(rec.st)
	st := *rec.st
	rec.mu.Unlock()
	if err != nil {
		rec.log.Warn("recording: not continued", "err", err)
		return nil
	}
	rec.r.setLatestState(&st, stage.RecordingActive)
	rec.log.Info("recording continued", "prefix", st.Prefix, "session_id", p.SessionID)
	return rec.startPiece(p)
}

// pieceEnded runs when a piece's muxer has exited: the recording waits out its reconnect
// window, or ends now.
func (rec *recording) pieceEnded(p *Piece) {
	rec.mu.Lock()
	if rec.piece == p {
		rec.piece = nil
	}
	rec.mediaEnd = max(rec.mediaEnd, p.seg.start, p.end)
	rec.nextThumb = p.nextThumb
	window := time.Duration(rec.cfg.ReconnectWindowSeconds) * time.Second
	st := *rec.st
	rec.mu.Unlock()
	rec.r.mu.Lock()
	closing := rec.r.closed
	rec.r.mu.Unlock()
	rec.r.setLatestState(&st, stage.RecordingStopping)
	if window == 0 || closing {
		rec.r.end(rec, statusEnded, "")
		return
	}
	rec.mu.Lock()
	if rec.piece == nil && !rec.finalized {
		rec.window = time.AfterFunc(window, func() { rec.r.end(rec, statusEnded, "") })
	}
	rec.mu.Unlock()
}

// end finalizes a recording that will take no more pieces.
func (r *Recorder) end(rec *recording, status, message string) {
	r.mu.Lock()
	if r.live[rec.key] == rec {
		delete(r.live, rec.key)
	}
	r.mu.Unlock()
	rec.finalize(status, message)
}

// Recover resumes what a previous run left in the spool. A recording it ended cleanly only
// has uploads left; one the previous run was still making when it died ends as failed
// (RECORDING_ENDED_WITH_FAILURE, participant FAILED), with every closed segment stored and
// listed. Uploads go on in the background.
func (r *Recorder) Recover(ctx context.Context) error {
	entries, err := os.ReadDir(r.cfg.SpoolDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recover recordings: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(r.cfg.SpoolDir, e.Name())
		st, err := loadState(dir)
		if err != nil {
			r.log.Warn("recording spool unreadable, left in place", "dir", dir, "err", err)
			continue
		}
		if err := r.recoverOne(spool{dir}, st); err != nil {
			return fmt.Errorf("recover recording %s: %w", st.Prefix, err)
		}
	}
	return nil
}

func (r *Recorder) recoverOne(sp spool, st *state) error {
	interrupted := st.Status == ""
	if interrupted {
		now := r.cfg.Now().UTC()
		st.Status, st.EndedAt = statusEndedWithFailure, &now
		st.StatusMessage = "the server stopped while recording; every closed segment is stored"
	}
	// A segment spooled but not committed in state.json was never closed.
	committed := map[string]bool{}
	for _, g := range st.Segments {
		committed[segmentKey(g.N)] = true
	}
	rels, err := sp.pending()
	if err != nil {
		return err
	}
	for _, rel := range rels {
		if _, n := uploadRank(rel); strings.HasPrefix(rel, hlsRendition) && !strings.Contains(rel, "init") && n > 0 && !committed[rel] {
			if err := sp.removePending(rel); err != nil {
				return err
			}
		}
	}
	if err := sp.saveState(st); err != nil {
		return err
	}
	rec := r.newRecording(sp, st, "", store.Recording{})
	rec.finalized = true
	if err := rec.spoolEnd(); err != nil {
		return err
	}
	r.setState(st, stage.RecordingStopping)
	r.log.Info("recording recovered", "prefix", st.Prefix, "interrupted", interrupted, "segments", len(st.Segments))
	r.startUploader(rec)
	return nil
}

// Close ends every recording (reconnect windows are cut short), waits until ctx ends for
// the uploads to finish, then stops the uploaders; what is left stays in the spool for the
// next start. The media plane must have closed every piece first.
func (r *Recorder) Close(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	var live []*recording
	for _, rec := range r.live {
		live = append(live, rec)
	}
	r.mu.Unlock()
	for _, rec := range live {
		rec.mu.Lock()
		p := rec.piece
		rec.mu.Unlock()
		p.Close()
		r.end(rec, statusEnded, "")
	}
	r.mu.Lock()
	var dones []chan struct{}
	for rec := range r.all {
		dones = append(dones, rec.done)
	}
	r.mu.Unlock()
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
		}
	}
	r.cancel()
	r.workers.Wait()
}

// setState records the recording state on every participant record the recording spans.
func (r *Recorder) setState(st *state, state string) {
	for _, sess := range st.Sessions {
		r.setOne(st, sess, state)
	}
}

// setLatestState records the state on the participant record of the latest session.
func (r *Recorder) setLatestState(st *state, state string) {
	if n := len(st.Sessions); n > 0 {
		r.setOne(st, st.Sessions[n-1], state)
	}
}

func (r *Recorder) setOne(st *state, session, state string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := stage.RecordingStatus{Bucket: st.Bucket, Prefix: st.Prefix, State: state}
	if err := r.cfg.Stages.SetRecording(ctx, st.StageArn, session, st.ParticipantID, rs); err != nil {
		r.log.Warn("recording state not recorded", "participant_id", st.ParticipantID, "state", state, "err", err)
	}
}

func hasMedia(types []string) bool {
	return len(types) > 0 && !slices.Contains(types, "NONE")
}

func audioOnly(types []string) bool { return slices.Contains(types, "AUDIO_ONLY") }

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
