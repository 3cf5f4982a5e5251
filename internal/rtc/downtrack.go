package rtc

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyAskInterval is how often a downtrack still waiting for a keyframe asks again, in case a
// PLI or the keyframe it caused was lost.
const keyAskInterval = int64(1e9)

// downTrack is one subscriber's copy of an upTrack. It implements webrtc.TrackLocal, so each
// subscriber gets its own SSRC, payload type and sequence/timestamp space; the up track's
// forwarding goroutine writes to it.
type downTrack struct {
	up *upTrack

	// Set by Bind before the downtrack joins up.subs; read-only afterwards.
	ssrc      uint32
	clockRate uint32
	writer    webrtc.TrackLocalWriter

	active atomic.Bool // the subscriber's PeerConnection is connected: forward

	// Owned by the up track's forwarding goroutine.
	hdr     rtp.Header
	m       munger
	srcSSRC uint32 // the incoming stream the munger is based on
	waitKey bool   // video: forward nothing until a keyframe starts
	rebase  bool   // the next packet forwarded re-bases the munger
	keyAsk  int64  // when this downtrack last asked for a keyframe

	// Counts, logged when the subscription ends.
	sent, dropped, failed atomic.Uint64
}

func newDownTrack(up *upTrack) *downTrack {
	return &downTrack{
		up:      up,
		m:       newMunger(uint16(rand.Uint32()), rand.Uint32()),
		waitKey: up.keyframe != nil,
		rebase:  true,
	}
}

// Bind is called by pion when the subscriber's answer is applied: it picks the negotiated
// codec that carries the publisher's packets unchanged and starts forwarding.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(d.up.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoCodec
	}
	d.ssrc = uint32(ctx.SSRC())
	d.clockRate = codec.ClockRate
	d.writer = ctx.WriteStream()
	d.hdr = rtp.Header{Version: 2, PayloadType: uint8(codec.PayloadType), SSRC: d.ssrc}
	d.up.addSub(d) // publishes the fields above to the forwarding goroutine
	return codec, nil
}

// Unbind is called by pion when the sender stops.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.up.removeSub(d)
	return nil
}

// ID is the track id in the subscriber's SDP: the kind and the publisher's mid.
func (d *downTrack) ID() string { return d.up.kind.String() + "-" + d.up.mid }

// RID is empty: a subscriber receives one layer.
func (d *downTrack) RID() string { return "" }

// StreamID groups a publisher's tracks: its participant id.
func (d *downTrack) StreamID() string { return d.up.streamID }

// Kind is audio or video.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// activate starts forwarding once the subscriber can receive: packets written before SRTP
// is ready are dropped by pion, and a dropped keyframe would leave the picture black.
func (d *downTrack) activate() {
	d.active.Store(true)
	d.up.requestKeyframe()
}

// writeRTP forwards one packet with this subscriber's SSRC, payload type, sequence number
// and timestamp. It never waits and never allocates: a failed or dropped write is counted.
// key reports whether the packet starts a keyframe.
func (d *downTrack) writeRTP(p *rtp.Packet, key bool, now int64) {
	if !d.active.Load() {
		return
	}
	if p.SSRC != d.srcSSRC { // a new source: continue the stream from its next keyframe
		d.srcSSRC, d.rebase, d.waitKey = p.SSRC, true, d.up.keyframe != nil
	}
	if d.waitKey && !key {
		d.dropped.Add(1)
		d.askKeyframe(now)
		return
	}
	if d.rebase {
		d.m.rebase(p.SequenceNumber, p.Timestamp, now, d.clockRate)
	}
	d.hdr.SequenceNumber, d.hdr.Timestamp = d.m.rewrite(p.SequenceNumber, p.Timestamp, now)
	d.hdr.Marker = p.Marker
	n, err := d.writer.WriteRTP(&d.hdr, p.Payload)
	switch {
	case err != nil:
		d.failed.Add(1)
	case n == 0: // pion dropped it (SRTP not ready): start over at the next keyframe
		d.dropped.Add(1)
	default:
		d.sent.Add(1)
		d.waitKey, d.rebase = false, false
	}
}

// askKeyframe re-asks the publisher while this downtrack waits, at most once per interval.
func (d *downTrack) askKeyframe(now int64) {
	if now-d.keyAsk >= keyAskInterval {
		d.keyAsk = now
		d.up.requestKeyframe()
	}
}
