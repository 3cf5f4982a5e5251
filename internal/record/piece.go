package record

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// muxInterval is how often the muxer drains the rings: it bounds the recording's delay, not
// its timing (every packet carries its arrival time). Each tick wakes the process, so it is
// kept well under keyframeLead but no shorter: at 20 ms the wake-ups cost about 1% of a core
// with one recorded participant, 0.5% per participant with eight (docs/BENCHMARKS.md,
// "Participant recording"). 100 ms is about 18 packets of a 1.5 Mbps track; a ring holds 1024.
const muxInterval = 100 * time.Millisecond

// keyframeLead is how early the muxer asks for the keyframe that will close a segment or make
// a thumbnail, so it arrives about when it is due.
const keyframeLead = 300 * time.Millisecond

// Piece is one publish's part of a recording: the media of one connection, from its first
// keyframe to its end. A recording continued within its reconnect window has several. Its
// muxer goroutine is the only reader of the tracks' rings.
type Piece struct {
	rec    *recording
	log    *slog.Logger
	tracks []*trackIn // in the order of Publish.Tracks
	video  *trackIn   // the first video track; nil without video
	audio  *trackIn   // the first audio track; nil without audio
	layout layout     // what the HLS carries
	seg    segmenter

	thumbs   bool
	interval time.Duration
	base     time.Duration // media time where the piece starts: the recording's length before it

	// Owned by the muxer.
	t0        int64         // arrival (Unix ns) of the sample at media time base; 0 until the first
	lastVideo time.Duration // media time of the latest video frame
	end       time.Duration // media time of the latest sample
	nextThumb time.Duration // media time from which the next keyframe becomes a thumbnail
	batch     []timed
	thumbDrop uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type timed struct {
	t    *trackIn
	s    sample
	wall int64
}

// Sink returns where the media plane writes the packets of track i (the index in
// Publish.Tracks); nil for an index out of range.
func (p *Piece) Sink(i int) *Sink {
	if p == nil || i < 0 || i >= len(p.tracks) || p.tracks[i].Codec == 0 {
		return nil
	}
	return &Sink{r: p.tracks[i].ring}
}

// Sink takes one track's RTP packets from the media plane's read loop.
type Sink struct{ r *ring }

// WriteRTP copies one packet for the muxer. It never blocks, allocates or locks; when the
// muxer is a whole ring behind the packet is dropped and counted.
func (s *Sink) WriteRTP(pkt []byte) { s.r.Write(pkt) }

// Close ends the piece: the muxer drains what is queued, closes the last segment and exits,
// and the recording waits out its reconnect window (or ends). It returns once the muxer has
// exited; later calls do nothing.
func (p *Piece) Close() {
	if p == nil {
		return
	}
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		p.rec.pieceEnded(p)
	})
}

// run is the muxer; Close stops it.
func (p *Piece) run() {
	defer close(p.done)
	tick := time.NewTicker(muxInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.step()
		case <-p.stop:
			p.step()
			if err := p.seg.flush(); err != nil {
				p.log.Warn("recording: last segment lost", "err", err)
			}
			p.finish()
			return
		}
	}
}

// step drains every ring and feeds the frames to the segmenter in arrival order.
func (p *Piece) step() {
	p.batch = p.batch[:0]
	for _, t := range p.tracks {
		t.pull(func(s sample, wall int64) { p.batch = append(p.batch, timed{t, s, wall}) })
	}
	sort.SliceStable(p.batch, func(i, j int) bool { return p.batch[i].wall < p.batch[j].wall })
	for _, x := range p.batch {
		p.onSample(x.t, x.s, x.wall)
	}
	p.askKeyframe()
}

func (p *Piece) onSample(t *trackIn, s sample, wall int64) {
	if p.t0 == 0 {
		anchorOnVideo := p.video != nil && (p.layout.video || !p.layout.audio)
		if anchorOnVideo && (t != p.video || !s.key) {
			return // the piece starts on a keyframe
		}
		p.t0 = wall
	}
	s.at = p.base + time.Duration(wall-p.t0)
	if s.at < p.base {
		return // from before the piece's first keyframe
	}
	p.end = max(p.end, s.at)
	var err error
	switch t {
	case p.video:
		p.lastVideo = s.at
		if s.key {
			p.thumbnail(t, s)
		}
		if p.layout.video {
			err = p.seg.addVideo(s, s.params)
		}
	case p.audio:
		if p.layout.audio {
			err = p.seg.addAudio(s)
		}
	}
	if err != nil {
		p.log.Warn("recording: segment lost", "err", err)
	}
}

// thumbnail hands a keyframe to the thumbnail worker when one is due. The worker may be busy
// (ffmpeg): the job is then dropped and counted, never waited on.
func (p *Piece) thumbnail(t *trackIn, s sample) {
	if !p.thumbs || s.at < p.nextThumb {
		return
	}
	p.nextThumb = (s.at/p.interval + 1) * p.interval
	frame := s.data
	if t.Codec == H264 {
		frame = h264Keyframe(s.au, s.params)
	}
	select {
	case p.rec.thumbs <- thumbJob{codec: t.Codec, frame: frame}:
	default:
		p.thumbDrop++
	}
}

// askKeyframe requests a keyframe while the piece waits for its first one, or when a segment
// or a thumbnail is about due.
func (p *Piece) askKeyframe() {
	if p.video == nil || p.video.RequestKeyframe == nil {
		return
	}
	soon := p.lastVideo + keyframeLead
	if p.t0 == 0 || (p.layout.video && p.seg.videoDue(soon)) || (p.thumbs && soon >= p.nextThumb) {
		p.video.RequestKeyframe()
	}
}

// finish logs the piece's counts.
func (p *Piece) finish() {
	attrs := []any{"media_seconds", (p.end - p.base).Seconds(), "thumbnail_drops", p.thumbDrop}
	for _, t := range p.tracks {
		attrs = append(attrs, "frames", t.frames, "broken_frames", t.broken, "ring_drops", t.ring.drops.Load())
	}
	p.log.Info("recording piece ended", attrs...)
}
