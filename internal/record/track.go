package record

import (
	"bytes"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// Codec is a recorded track's codec.
type Codec int

// The codecs the media plane accepts (DESIGN.md "Codecs").
const (
	H264 Codec = iota + 1
	VP8
	Opus
)

func (c Codec) video() bool { return c == H264 || c == VP8 }

// Track describes one published track to record.
type Track struct {
	Codec     Codec
	ClockRate uint32 // 90000 for video, 48000 for Opus
	// RequestKeyframe asks the publisher for a keyframe; it must not block (the media plane
	// throttles it). Segments and thumbnails start on keyframes, so the muxer asks when one
	// is due rather than wait for the encoder's own interval. Nil for audio.
	RequestKeyframe func()
}

// ringSlots bounds how far the muxer may fall behind one track: at 1.5 Mbps a video track
// brings ~150 packets a second, so 1024 slots are several seconds.
const ringSlots = 1024

// maxLate is how many packets the sample builder waits for a missing one (NACK and RTX
// repair most losses well within it) before it gives up on the frame.
const maxLate = 256

// sample is one depacketized frame on the recording's timeline.
type sample struct {
	at   time.Duration // media time from the start of the recording
	data []byte        // AVCC for H.264 (4-byte lengths), the frame for VP8, the packet for Opus
	au   [][]byte      // H.264 NAL units; nil for other codecs
	key  bool          // a keyframe (always true for audio)
	// params are the H.264 parameter sets in force for this frame.
	params params
}

// trackIn turns one track's RTP packets into samples. It is owned by the piece's muxer.
type trackIn struct {
	Track
	ring *ring
	sb   *samplebuilder.SampleBuilder

	anchored bool
	anchorAt int64  // arrival of the track's first packet, Unix nanoseconds
	lastTS   uint32 // RTP timestamp of the last sample
	ext      int64  // lastTS unwrapped, relative to the first sample's

	sps, pps []byte // the latest H.264 parameter sets seen
	pkt      rtp.Packet
	frames   uint64
	broken   uint64 // frames that could not be parsed
}

func newTrackIn(t Track) *trackIn {
	var d rtp.Depacketizer
	switch t.Codec {
	case H264:
		d = &codecs.H264Packet{}
	case VP8:
		d = &codecs.VP8Packet{}
	default:
		d = &codecs.OpusPacket{}
	}
	return &trackIn{
		Track: t,
		ring:  newRing(ringSlots),
		sb:    samplebuilder.New(maxLate, d, t.ClockRate, samplebuilder.WithMaxTimeDelay(time.Second)),
	}
}

// pull moves what the ring holds into the sample builder and returns the frames it
// completed, each with its arrival-based wall time (Unix nanoseconds).
func (t *trackIn) pull(emit func(s sample, wall int64)) {
	t.ring.drain(func(b []byte, at int64) {
		var p rtp.Packet // the sample builder keeps packets until their frame completes
		if p.Unmarshal(bytes.Clone(b)) != nil {
			return
		}
		if !t.anchored {
			t.anchored, t.anchorAt, t.lastTS = true, at, p.Timestamp
		}
		t.sb.Push(&p)
	})
	for s := t.sb.Pop(); s != nil; s = t.sb.Pop() {
		t.ext += int64(int32(s.PacketTimestamp - t.lastTS))
		t.lastTS = s.PacketTimestamp
		clock := int64(t.ClockRate)
		wall := t.anchorAt + t.ext/clock*int64(time.Second) + t.ext%clock*int64(time.Second)/clock
		if out, ok := t.frame(s.Data); ok {
			t.frames++
			emit(out, wall)
		} else {
			t.broken++
		}
	}
}

// frame parses one depacketized frame.
func (t *trackIn) frame(data []byte) (sample, bool) {
	switch t.Codec {
	case H264:
		var au h264.AnnexB
		if au.Unmarshal(data) != nil || len(au) == 0 {
			return sample{}, false
		}
		nalus := make([][]byte, 0, len(au))
		for _, n := range au {
			if len(n) == 0 {
				continue
			}
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				t.sps = n
			case h264.NALUTypePPS:
				t.pps = n
			case h264.NALUTypeAccessUnitDelimiter:
				continue
			}
			nalus = append(nalus, n)
		}
		avcc, err := h264.AVCC(nalus).Marshal()
		if err != nil {
			return sample{}, false
		}
		return sample{data: avcc, au: nalus, key: h264.IsRandomAccess(nalus), params: params{t.sps, t.pps}}, true
	case VP8:
		if len(data) < 3 {
			return sample{}, false
		}
		return sample{data: data, key: data[0]&1 == 0}, true // RFC 6386 §9.1: P bit 0 is a keyframe
	default:
		if len(data) == 0 {
			return sample{}, false
		}
		return sample{data: data, key: true}, true
	}
}

// opusDuration is a packet's duration in 48 kHz units, 20 ms when its TOC is unreadable.
func opusDuration(pkt []byte) uint32 {
	if d := opus.PacketDuration2(pkt); d > 0 {
		return uint32(d) // already in 48 kHz units
	}
	return 960
}
