package record

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// Timescales of the fMP4 tracks: RTP's clock rates, so no timestamp is rounded twice.
const (
	videoTimescale = 90000
	audioTimescale = 48000
)

// layout says which tracks a recording's HLS carries; it fixes their fMP4 track ids.
type layout struct {
	video, audio bool
}

func (l layout) videoID() int { return 1 }
func (l layout) audioID() int {
	if l.video {
		return 2
	}
	return 1
}

// params are the codec parameters an init segment is made from.
type params struct {
	sps, pps []byte
}

func (p params) equal(o params) bool {
	return bytes.Equal(p.sps, o.sps) && bytes.Equal(p.pps, o.pps)
}

// initSegment renders the fMP4 initialization segment for l and p.
func initSegment(l layout, p params) ([]byte, error) {
	var init fmp4.Init
	if l.video {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: l.videoID(), TimeScale: videoTimescale,
			Codec: &fmp4.CodecH264{SPS: p.sps, PPS: p.pps}})
	}
	if l.audio {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: l.audioID(), TimeScale: audioTimescale,
			Codec: &fmp4.CodecOpus{ChannelCount: 2}})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("marshal init segment: %w", err)
	}
	return buf.Bytes(), nil
}

// closedSegment is a media segment the segmenter cut.
type closedSegment struct {
	body     []byte
	duration time.Duration
	params   params // of the video; zero without video
}

// segmenter cuts a piece's samples into fMP4 media segments of about target length, each
// starting on a video keyframe (or anywhere, for audio alone) and with one set of codec
// parameters. It is owned by the piece's muxer.
type segmenter struct {
	layout layout
	target time.Duration
	emit   func(closedSegment) error

	start    time.Duration // media time of the open segment's start
	video    []sample
	audio    []sample
	params   params        // of the open segment's video
	lastDur  time.Duration // the last video frame interval, for the final frame
	sequence uint32
}

// videoDue reports whether the open segment has reached its length, so the next keyframe
// closes it.
func (g *segmenter) videoDue(at time.Duration) bool {
	return len(g.video) > 0 && at-g.start >= g.target
}

// addVideo takes an H.264 frame; a keyframe may close the open segment first.
func (g *segmenter) addVideo(s sample, p params) error {
	if len(g.video) == 0 && !s.key {
		return nil // a segment starts on a keyframe
	}
	if s.key && len(g.video) > 0 && (s.at-g.start >= g.target || !p.equal(g.params)) {
		if err := g.cut(s.at); err != nil {
			return err
		}
	}
	if len(g.video) == 0 {
		g.start, g.params = s.at, p
		g.audio = dropBefore(g.audio, s.at)
	} else {
		g.lastDur = s.at - g.video[len(g.video)-1].at
	}
	g.video = append(g.video, s)
	return nil
}

// addAudio takes an Opus packet; without video, it may close the open segment first.
func (g *segmenter) addAudio(s sample) error {
	if g.layout.video {
		if len(g.video) > 0 {
			g.audio = append(g.audio, s)
		}
		return nil
	}
	if len(g.audio) > 0 && s.at-g.start >= g.target {
		if err := g.cut(s.at); err != nil {
			return err
		}
	}
	if len(g.audio) == 0 {
		g.start = s.at
	}
	g.audio = append(g.audio, s)
	return nil
}

// flush closes the open segment at the end of the piece.
func (g *segmenter) flush() error {
	end := g.start
	if n := len(g.video); n > 0 {
		end = g.video[n-1].at + max(g.lastDur, time.Second/30)
	}
	if n := len(g.audio); n > 0 {
		end = max(end, g.audio[n-1].at+time.Duration(opusDuration(g.audio[n-1].data))*time.Second/audioTimescale)
	}
	if len(g.video) == 0 && len(g.audio) == 0 {
		return nil
	}
	return g.cut(end)
}

// cut closes the open segment at media time end: video before it (all of it: the caller
// cuts at a keyframe or the end) and audio before it; later audio opens the next segment.
func (g *segmenter) cut(end time.Duration) error {
	var audio, rest []sample
	for _, s := range g.audio {
		if s.at < end {
			audio = append(audio, s)
		} else {
			rest = append(rest, s)
		}
	}
	g.sequence++
	part := fmp4.Part{SequenceNumber: g.sequence}
	if g.layout.video && len(g.video) > 0 {
		part.Tracks = append(part.Tracks, videoPart(g.layout.videoID(), g.video, end))
	}
	if g.layout.audio && len(audio) > 0 {
		var next *sample
		if len(rest) > 0 {
			next = &rest[0]
		}
		part.Tracks = append(part.Tracks, audioPart(g.layout.audioID(), audio, next))
	}
	seg := closedSegment{duration: end - g.start, params: g.params}
	g.video, g.audio, g.start = g.video[:0:0], rest, end
	if len(part.Tracks) == 0 {
		return nil
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		return fmt.Errorf("marshal segment: %w", err)
	}
	seg.body = buf.Bytes()
	return g.emit(seg)
}

func videoPart(id int, frames []sample, end time.Duration) *fmp4.PartTrack {
	pt := &fmp4.PartTrack{ID: id, BaseTime: ticks(frames[0].at, videoTimescale)}
	for i, f := range frames {
		next := end
		if i+1 < len(frames) {
			next = frames[i+1].at
		}
		pt.Samples = append(pt.Samples, &fmp4.Sample{
			Duration:        uint32(ticks(next, videoTimescale) - ticks(f.at, videoTimescale)),
			IsNonSyncSample: !f.key,
			Payload:         f.data,
		})
	}
	return pt
}

func audioPart(id int, pkts []sample, next *sample) *fmp4.PartTrack {
	pt := &fmp4.PartTrack{ID: id, BaseTime: ticks(pkts[0].at, audioTimescale)}
	for i, p := range pkts {
		d := opusDuration(p.data)
		switch {
		case i+1 < len(pkts):
			d = uint32(ticks(pkts[i+1].at, audioTimescale) - ticks(p.at, audioTimescale))
		case next != nil && next.at > p.at:
			d = min(d, uint32(ticks(next.at, audioTimescale)-ticks(p.at, audioTimescale)))
		}
		pt.Samples = append(pt.Samples, &fmp4.Sample{Duration: d, Payload: p.data})
	}
	return pt
}

// ticks converts a media time to a timescale's units.
func ticks(d time.Duration, timescale uint64) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d/time.Second)*timescale + uint64(d%time.Second)*timescale/uint64(time.Second)
}

func dropBefore(s []sample, at time.Duration) []sample {
	i := 0
	for i < len(s) && s[i].at < at {
		i++
	}
	return s[i:]
}

// codecsOf is the HLS CODECS attribute of a layout (RFC 6381: avc1.PPCCLL from the SPS).
func codecsOf(l layout, p params) string {
	var c []string
	if l.video && len(p.sps) >= 4 {
		c = append(c, fmt.Sprintf("avc1.%02x%02x%02x", p.sps[1], p.sps[2], p.sps[3]))
	}
	if l.audio {
		c = append(c, "opus")
	}
	return strings.Join(c, ",")
}

// resolution reads the picture size from an SPS; zeros when it cannot.
func resolution(sps []byte) (w, h int) {
	var s h264.SPS
	if s.Unmarshal(sps) != nil {
		return 0, 0
	}
	return s.Width(), s.Height()
}
