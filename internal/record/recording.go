package record

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
)

// Upload retries back off from minBackoff to maxBackoff while the store is unreachable.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 2 * time.Second
	// putTimeout bounds one upload, so a store that hangs is retried like one that refuses.
	putTimeout = 30 * time.Second
)

// recording is one participant recording: one prefix in one bucket, made of one or more
// pieces (publishes). Its uploader moves the spool's pending objects to the store in order
// and rewrites the playlists as segments land; the store being down only makes it wait.
type recording struct {
	r          *Recorder
	key        string // stage ARN + "/" + participant id
	storageArn string
	cfg        store.Recording // the stage's configuration when the recording started
	sp         spool
	log        *slog.Logger

	mu          sync.Mutex // guards everything below and the spool's files
	st          *state
	piece       *Piece      // the live piece; nil between pieces
	window      *time.Timer // ends the recording when its reconnect window passes
	finalized   bool
	mediaEnd    time.Duration // media time where the next piece starts
	nextThumb   time.Duration
	initLayout  layout
	initParams  params
	pieceStarts bool // the next segment is the first of a piece

	thumbs     chan thumbJob // keyframes to the thumbnail worker; closed by finalize
	thumbsDone chan struct{} // closed when the worker exits; nil without one
	wake       chan struct{} // wakes the uploader; capacity 1
	done       chan struct{} // closed when the uploader has exited

	// Owned by the uploader.
	listed        int  // segments in the last playlist stored
	finalPlaylist bool // the playlist with EXT-X-ENDLIST is stored
	startedStored bool
	failures      int
}

// notify wakes the uploader without waiting.
func (rec *recording) notify() {
	select {
	case rec.wake <- struct{}{}:
	default:
	}
}

// addSegment spools a closed segment (and a new init segment when the piece or its codec
// parameters are new), then commits it in state.json.
func (rec *recording) addSegment(l layout, seg closedSegment) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	st := rec.st
	n := 1
	if k := len(st.Segments); k > 0 {
		n = st.Segments[k-1].N + 1
	}
	g := segment{N: n, Seconds: seg.duration.Seconds()}
	if rec.pieceStarts || st.Inits == 0 || l != rec.initLayout || !seg.params.equal(rec.initParams) {
		body, err := initSegment(l, seg.params)
		if err != nil {
			return err
		}
		if err := rec.sp.put(hlsRendition+initName(st.Inits+1), body); err != nil {
			return fmt.Errorf("spool init segment: %w", err)
		}
		st.Inits++
		g.Discontinuity = len(st.Segments) > 0
		rec.initLayout, rec.initParams, rec.pieceStarts = l, seg.params, false
		st.Codecs = codecsOf(l, seg.params)
		st.Width, st.Height = resolution(seg.params.sps)
	}
	g.Init = initName(st.Inits)
	if err := rec.sp.put(segmentKey(n), seg.body); err != nil {
		return fmt.Errorf("spool segment %d: %w", n, err)
	}
	st.Segments = append(st.Segments, g)
	if g.Seconds > 0 {
		st.PeakBitrate = max(st.PeakBitrate, int(float64(len(seg.body)*8)/g.Seconds))
	}
	if err := rec.sp.saveState(st); err != nil {
		st.Segments = st.Segments[:len(st.Segments)-1]
		return fmt.Errorf("commit segment %d: %w", n, err)
	}
	rec.notify()
	return nil
}

// runThumbnails turns keyframes into JPEGs until finalize closes thumbs.
func (rec *recording) runThumbnails(ctx context.Context) {
	defer close(rec.thumbsDone)
	for j := range rec.thumbs {
		img, err := jpegOf(ctx, rec.r.cfg.FFmpeg, j)
		if err != nil {
			rec.log.Warn("recording: thumbnail failed", "err", err)
			continue
		}
		rec.mu.Lock()
		if rec.st.Sequential {
			if err := rec.sp.put(thumbnailKey(rec.st.Thumbs+1), img); err == nil {
				rec.st.Thumbs++
			}
		}
		if rec.st.Latest {
			_ = rec.sp.put(keyLatest, img)
		}
		err = rec.sp.saveState(rec.st)
		rec.mu.Unlock()
		if err != nil {
			rec.log.Warn("recording: thumbnail not committed", "err", err)
		}
		rec.notify()
	}
}

// finalize ends the recording for good: no piece may follow. The end event file is spooled
// after the state that names the status, so a crash in between is completed on recovery.
func (rec *recording) finalize(status, message string) {
	rec.mu.Lock()
	if rec.finalized {
		rec.mu.Unlock()
		return
	}
	rec.finalized = true
	if rec.window != nil {
		rec.window.Stop()
	}
	rec.mu.Unlock()
	if rec.thumbsDone != nil {
		close(rec.thumbs)
		<-rec.thumbsDone // every thumbnail taken is spooled before the end is written
	}
	rec.mu.Lock()
	now := rec.r.cfg.Now().UTC()
	rec.st.Status, rec.st.StatusMessage, rec.st.EndedAt = status, message, &now
	err := rec.sp.saveState(rec.st)
	if err == nil {
		err = rec.spoolEnd()
	}
	rec.mu.Unlock()
	if err != nil {
		rec.log.Error("recording: end not spooled", "err", err)
	}
	rec.notify()
}

// spoolEnd writes the end event file for the recorded status. Called with mu held.
func (rec *recording) spoolEnd() error {
	key := keyEnded
	if rec.st.Status != statusEnded {
		key = keyFailed
	}
	return rec.sp.put(key, metadataJSON(rec.st, true))
}

// runUploader moves pending objects to the store until the recording has ended and all of
// it is stored, or ctx ends (what is left waits in the spool for the next start).
func (rec *recording) runUploader(ctx context.Context) {
	defer close(rec.done)
	backoff := minBackoff
	for {
		finished, err := rec.uploadPass(ctx)
		if finished {
			return
		}
		var retry <-chan time.Time
		if err != nil {
			rec.failures++
			if rec.failures == 1 || rec.failures%50 == 0 {
				rec.log.Warn("recording: store unreachable, segments wait on disk", "failures", rec.failures, "err", err)
			}
			retry = time.After(backoff)
			backoff = min(backoff*2, maxBackoff)
		} else {
			if rec.failures > 0 {
				rec.log.Info("recording: store reachable again", "failures", rec.failures)
			}
			rec.failures, backoff = 0, minBackoff
		}
		select {
		case <-rec.wake:
		case <-retry:
		case <-ctx.Done():
			return
		}
	}
}

// uploadPass stores every pending object in order, then the playlists, and last the end
// event file. finished is true once that file is stored.
func (rec *recording) uploadPass(ctx context.Context) (finished bool, err error) {
	rels, err := rec.sp.pending()
	if err != nil {
		return false, err
	}
	final := ""
	for _, rel := range rels {
		if rel == keyEnded || rel == keyFailed {
			final = rel
			continue
		}
		if err := rec.upload(ctx, rel); err != nil {
			return false, err
		}
		if rel == keyStarted && !rec.startedStored {
			rec.startedStored = true
			rec.onStarted()
		}
	}
	rec.mu.Lock()
	st := *rec.st
	st.Segments = append([]segment(nil), rec.st.Segments...)
	rec.mu.Unlock()
	ended := st.Status != ""
	if st.HLS {
		if err := rec.storePlaylists(ctx, &st, ended); err != nil {
			return false, err
		}
	}
	if !ended || final == "" {
		return false, nil
	}
	if err := rec.upload(ctx, final); err != nil {
		return false, err
	}
	rec.r.setState(&st, finalState(st.Status))
	if err := os.RemoveAll(rec.sp.dir); err != nil {
		rec.log.Warn("recording: spool not removed", "err", err)
	}
	rec.log.Info("recording stored", "status", st.Status, "segments", len(st.Segments), "duration_ms", st.durationMs())
	return true, nil
}

// storePlaylists rewrites the playlists when more segments are stored than they list (the
// segments upload in order, so the stored ones are the first n), or to end them.
func (rec *recording) storePlaylists(ctx context.Context, st *state, ended bool) error {
	n := rec.listed
	for n < len(st.Segments) && !rec.sp.isPending(segmentKey(st.Segments[n].N)) {
		n++
	}
	last := ended && n == len(st.Segments)
	if n == rec.listed && (!last || rec.finalPlaylist) {
		return nil
	}
	if err := rec.put(ctx, keyPlaylist, mediaPlaylist(st, n, last)); err != nil {
		return err
	}
	if err := rec.put(ctx, keyMultivariant, multivariantPlaylist(st)); err != nil {
		return err
	}
	rec.listed, rec.finalPlaylist = n, last
	return nil
}

// upload stores one pending object and removes it from the spool, unless it was rewritten
// meanwhile (the latest thumbnail is).
func (rec *recording) upload(ctx context.Context, rel string) error {
	name := rec.sp.pendingPath(rel)
	before, err := os.Stat(name)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := rec.put(ctx, rel, body); err != nil {
		return err
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if after, err := os.Stat(name); err == nil && !after.ModTime().Equal(before.ModTime()) {
		return nil // a newer version waits for the next pass
	}
	return rec.sp.removePending(rel)
}

func (rec *recording) put(ctx context.Context, rel string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, putTimeout)
	defer cancel()
	return rec.r.cfg.Storage.Put(ctx, rec.st.Bucket, rec.st.Prefix+"/"+rel, body, contentType(rel))
}

// onStarted runs once recording-started.json is stored: the recording is ACTIVE unless it
// has already ended.
func (rec *recording) onStarted() {
	rec.mu.Lock()
	active := !rec.finalized && rec.piece != nil
	st := *rec.st
	rec.mu.Unlock()
	if active {
		rec.r.setLatestState(&st, stage.RecordingActive)
	}
}

func finalState(status string) string {
	if status == statusEnded {
		return stage.RecordingStopped
	}
	return stage.RecordingFailed
}

func contentType(rel string) string {
	switch {
	case strings.HasSuffix(rel, ".m3u8"):
		return "application/vnd.apple.mpegurl"
	case strings.HasSuffix(rel, ".mp4"):
		return "video/mp4"
	case strings.HasSuffix(rel, ".jpg"):
		return "image/jpeg"
	case strings.HasSuffix(rel, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}
