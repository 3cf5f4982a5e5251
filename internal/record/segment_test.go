package record

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// opusFrame is a 20 ms CELT frame's TOC byte and a payload.
var opusFrame = []byte{0xf8, 0xff, 0xfe}

// feed gives a segmenter seconds of 30 fps video (a keyframe every gop frames) and 20 ms
// audio, interleaved by time, and returns the segments it cut.
func feed(t *testing.T, l layout, target time.Duration, seconds, gop int, p func(frame int) params) []closedSegment {
	t.Helper()
	var out []closedSegment
	g := &segmenter{layout: l, target: target, emit: func(s closedSegment) error { out = append(out, s); return nil }}
	frame, audio := 0, 0
	for frame < seconds*30 || audio < seconds*50 {
		vt := time.Duration(frame) * time.Second / 30
		at := time.Duration(audio) * 20 * time.Millisecond
		if frame < seconds*30 && (vt <= at || audio >= seconds*50) {
			if err := g.addVideo(sample{at: vt, data: []byte{0, 0, 0, 1, 0x65}, key: frame%gop == 0}, p(frame)); err != nil {
				t.Fatal(err)
			}
			frame++
		} else {
			if err := g.addAudio(sample{at: at, data: opusFrame, key: true}); err != nil {
				t.Fatal(err)
			}
			audio++
		}
	}
	if err := g.flush(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testSPS is a 1920x1080 constrained baseline SPS (from mediacommon's tests).
var testSPS = []byte{
	0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
	0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
}

func sameParams(int) params { return params{sps: testSPS, pps: []byte{0x68, 0xcb, 0x8c, 0xb2}} }

func TestSegmentsStartOnKeyframesAtTheTarget(t *testing.T) {
	segs := feed(t, layout{video: true, audio: true}, 2*time.Second, 9, 45, sameParams) // keyframes every 1.5 s
	var total time.Duration
	for i, s := range segs {
		total += s.duration
		var parts fmp4.Parts
		if err := parts.Unmarshal(s.body); err != nil {
			t.Fatalf("segment %d: %v", i+1, err)
		}
		v := parts[0].Tracks[0]
		if v.Samples[0].IsNonSyncSample {
			t.Errorf("segment %d does not start on a keyframe", i+1)
		}
		if i < len(segs)-1 && s.duration != 3*time.Second {
			t.Errorf("segment %d lasts %v; the first keyframe at or past 2 s is at 3 s", i+1, s.duration)
		}
		if len(parts[0].Tracks) != 2 || len(parts[0].Tracks[1].Samples) == 0 {
			t.Errorf("segment %d lacks audio", i+1)
		}
	}
	if len(segs) != 3 || total < 9*time.Second || total > 9*time.Second+50*time.Millisecond {
		t.Errorf("%d segments, %v in all; want 3 covering 9 s", len(segs), total)
	}
}

func TestNewParametersStartANewSegment(t *testing.T) {
	segs := feed(t, layout{video: true, audio: true}, 6*time.Second, 4, 30, func(frame int) params {
		if frame >= 60 {
			return params{sps: []byte{0x67, 0x42, 0xc0, 0x1e}, pps: []byte{0x68}}
		}
		return sameParams(frame)
	})
	if len(segs) != 2 || segs[0].duration != 2*time.Second || segs[1].params.sps[3] != 0x1e {
		t.Fatalf("a resolution change at 2 s must cut there: %d segments, first %v", len(segs), segs[0].duration)
	}
}

func TestAudioOnlySegments(t *testing.T) {
	segs := feed(t, layout{audio: true}, 2*time.Second, 5, 30, sameParams)
	if len(segs) != 3 || segs[0].duration != 2*time.Second {
		t.Fatalf("audio alone cuts at the target: %d segments, first %v", len(segs), segs[0].duration)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(segs[0].body); err != nil || len(parts[0].Tracks) != 1 || parts[0].Tracks[0].ID != 1 {
		t.Fatalf("an audio-only segment has one track, id 1: %v", err)
	}
	if n := len(parts[0].Tracks[0].Samples); n != 100 {
		t.Errorf("2 s of 20 ms packets is 100 samples, got %d", n)
	}
}

func TestInitSegment(t *testing.T) {
	b, err := initSegment(layout{video: true, audio: true}, sameParams(0))
	if err != nil {
		t.Fatal(err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(newReadSeeker(b)); err != nil || len(init.Tracks) != 2 {
		t.Fatalf("init segment: %v, %d tracks", err, len(init.Tracks))
	}
	if w, h := resolution(testSPS); w != 1920 || h != 1080 {
		t.Errorf("resolution %dx%d", w, h)
	}
	if init.Tracks[0].TimeScale != videoTimescale || init.Tracks[1].TimeScale != audioTimescale {
		t.Errorf("timescales %d/%d", init.Tracks[0].TimeScale, init.Tracks[1].TimeScale)
	}
	if c := codecsOf(layout{video: true, audio: true}, sameParams(0)); c != "avc1.42c028,opus" {
		t.Errorf("CODECS %q", c)
	}
}

func newReadSeeker(b []byte) *bytes.Reader { return bytes.NewReader(b) }
