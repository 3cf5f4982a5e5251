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

// downTrack is one subscriber's copy of an m-line. It implements webrtc.TrackLocal, so each
// subscriber gets its own SSRC, payload type and sequence/timestamp space. With simulcast it
// is in every layer's subscriber list and forwards one layer, cur, switching to target at a
// keyframe of target; the layer choice is made from the subscriber's RTCP (rtcpin.go, bwe.go).
//
// Several layer goroutines call writeRTP concurrently. Whoever wins the busy flag owns the
// fields below "Owned by" for that packet; the CompareAndSwap and the Store that releases it
// order one owner's writes before the next owner's reads (Go memory model: atomics are
// sequentially consistent).
type downTrack struct {
	up     *upTrack   // the m-line's highest layer: codec, names
	layers []*upTrack // up.layers, lowest quality first

	// Set by Bind before the downtrack joins the layers' subs; read-only afterwards.
	ssrc      uint32
	clockRate uint32
	writer    webrtc.TrackLocalWriter

	active atomic.Bool  // the subscriber's PeerConnection is connected: forward
	cur    atomic.Int32 // the layer forwarded; written only by busy's owner
	target atomic.Int32 // the layer wanted; written by whoever reads the RTCP
	busy   atomic.Bool  // a layer goroutine is writing; see above
	// queue, once set (the subscriber is on ICE-TCP), takes the packets instead of writer; the
	// subscriber's writer goroutine writes them (sendqueue.go).
	queue atomic.Pointer[sendQueue]
	// fast, once set (the subscriber is connected over UDP), writes the packets instead of
	// writer (fastpath.go).
	fast   atomic.Pointer[fastPath]
	rtx    *rtxStream // set by Bind for video with RTX; its history is busy's holder's
	sr     srClock
	resync atomic.Bool // the queue's writer lost a packet: video restarts at a keyframe
	rtcp   rtcpState   // the subscriber's RTCP for this downtrack (rtcpin.go)

	// Owned by the queue's writer goroutine: the header of queued packets.
	qhdr rtp.Header

	// Owned by the holder of busy.
	hdr     rtp.Header
	m       munger
	srcSSRC uint32 // the incoming stream the munger is based on
	waitKey bool   // video: forward nothing until a keyframe starts
	rebase  bool   // the next packet forwarded re-bases the munger
	keyAsk  int64  // when this downtrack last asked for a keyframe

	// Counts, logged when the subscription ends. contended: packets a layer goroutine
	// dropped because another held busy; overflowed: packets dropped because the send queue
	// was full.
	sent, dropped, failed, contended, switches, overflowed, retransmitted atomic.Uint64
}

func newDownTrack(up *upTrack) *downTrack {
	d := &downTrack{
		up:      up,
		layers:  up.layers,
		m:       newMunger(uint16(rand.Uint32()), rand.Uint32()),
		waitKey: up.keyframe != nil,
		rebase:  true,
	}
	top := int32(len(up.layers) - 1) // without a bandwidth signal: the best layer
	d.cur.Store(top)
	d.target.Store(top)
	return d
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
	d.qhdr = d.hdr
	d.rtx = newRTXStream(ctx, codec, d.up.kind)
	for _, l := range d.layers {
		l.addSub(d) // publishes the fields above to the forwarding goroutines
	}
	return codec, nil
}

// Unbind is called by pion when the sender stops.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.leave()
	return nil
}

// leave stops forwarding from every layer; leaving twice does nothing.
func (d *downTrack) leave() {
	for _, l := range d.layers {
		l.removeSub(d)
	}
}

// ID is the track id in the subscriber's SDP: the kind and the publisher's mid.
func (d *downTrack) ID() string { return d.up.kind.String() + "-" + d.up.mid }

// RID is empty: a subscriber receives one layer at a time, as one stream.
func (d *downTrack) RID() string { return "" }

// StreamID groups a publisher's tracks: its participant id.
func (d *downTrack) StreamID() string { return d.up.streamID }

// Kind is audio or video.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// activate starts forwarding once the subscriber can receive: packets written before SRTP
// is ready are dropped by pion, and a dropped keyframe would leave the picture black.
func (d *downTrack) activate() {
	d.active.Store(true)
	d.layers[d.target.Load()].requestKeyframe()
}

// setTarget chooses the layer to forward from the next keyframe on; it asks that layer for
// one. Called by the reader of the subscriber's RTCP; reports whether the target changed.
func (d *downTrack) setTarget(layer int32) bool {
	if d.target.Swap(layer) == layer {
		return false
	}
	if layer != d.cur.Load() {
		d.layers[layer].requestKeyframe()
	}
	return true
}

// keyframeRequested asks for a keyframe of the layer the subscriber receives (its PLI or FIR)
// and of the one it is waiting to switch to.
func (d *downTrack) keyframeRequested() {
	cur, target := d.cur.Load(), d.target.Load()
	d.layers[cur].requestKeyframe()
	if target != cur {
		d.layers[target].requestKeyframe()
	}
}

// writeRTP forwards one packet of layer with this subscriber's SSRC, payload type, sequence
// number and timestamp. It never waits and never allocates: a failed or dropped write is
// counted. key reports whether the packet starts a keyframe. Over UDP it writes to pion
// directly; over ICE-TCP, whose writes can block, through the subscriber's send queue.
func (d *downTrack) writeRTP(p *rtp.Packet, layer int32, key bool, now int64) {
	if !d.active.Load() {
		return
	}
	// Most packets of other layers are not wanted: skip them without contending for busy.
	if layer != d.cur.Load() && (!key || layer != d.target.Load()) {
		return
	}
	if !d.busy.CompareAndSwap(false, true) {
		d.contended.Add(1)
		return
	}
	d.write(p, layer, key, now)
	d.resend()
	d.busy.Store(false)
}

// write is writeRTP's work while it holds busy.
func (d *downTrack) write(p *rtp.Packet, layer int32, key bool, now int64) {
	cur, target := d.cur.Load(), d.target.Load()
	if layer != cur {
		if layer != target || !key {
			return
		}
		// Switch at target's keyframe; the new SSRC below re-bases the munger, so the
		// subscriber's sequence numbers and timestamps continue.
		cur = target
		d.cur.Store(cur)
		d.switches.Add(1)
	}
	if p.SSRC != d.srcSSRC { // a new source: continue the stream from its next keyframe
		d.srcSSRC, d.rebase, d.waitKey = p.SSRC, true, d.up.keyframe != nil
	}
	if d.waitKey && !key {
		d.dropped.Add(1)
		d.askKeyframe(d.layers[cur], now)
		return
	}
	if target != cur {
		d.askKeyframe(d.layers[target], now)
	}
	if d.rebase {
		d.m.rebase(p.SequenceNumber, p.Timestamp, now, d.clockRate)
	}
	d.hdr.SequenceNumber, d.hdr.Timestamp = d.m.rewrite(p.SequenceNumber, p.Timestamp, now)
	d.hdr.Marker = p.Marker
	if q := d.queue.Load(); q != nil {
		d.enqueue(q, p.Payload, key, d.layers[cur], now)
		return
	}
	n, err := d.send(&d.hdr, p.Payload)
	sent := d.counted(n, err)
	if sent {
		d.sr.sent(d.hdr.Timestamp, len(p.Payload), now)
	}
	// A packet the socket refused (a full send buffer) has used its sequence number, so the
	// subscriber will ask for it: keep it for RTX as well. The stream's first packet has not,
	// since the next one re-bases again.
	if d.rtx != nil && (sent || (err != nil && !d.rebase)) {
		d.rtx.hist.put(&d.hdr, p.Payload)
	}
	if sent {
		d.waitKey, d.rebase = false, false
	}
}

// send writes one packet over the fast path once it is set, else through pion.
func (d *downTrack) send(h *rtp.Header, payload []byte) (int, error) {
	if f := d.fast.Load(); f != nil {
		return f.write(h, payload)
	}
	return d.writer.WriteRTP(h, payload)
}

// counted counts the result of a write (fast path or pion); true if the packet went out.
func (d *downTrack) counted(n int, err error) bool {
	switch {
	case err != nil:
		d.failed.Add(1)
	case n == 0: // pion dropped it (SRTP not ready): start over at the next keyframe
		d.dropped.Add(1)
	default:
		d.sent.Add(1)
		return true
	}
	return false
}

// enqueue hands the packet, already rewritten into d.hdr, to the subscriber's writer
// goroutine. A full queue drops it (the sequence number stays used, so the subscriber sees
// the loss); video then forwards nothing until the next keyframe of layer, which it asks for.
func (d *downTrack) enqueue(q *sendQueue, payload []byte, key bool, layer *upTrack, now int64) {
	video := d.up.keyframe != nil
	if video && d.resync.Load() && d.resync.Swap(false) && !key { // a keyframe start clears it
		d.waitKey = true
		d.dropped.Add(1)
		d.askKeyframe(layer, now)
		return
	}
	if !q.push(d, &d.hdr, payload) {
		d.overflowed.Add(1)
		if video {
			d.waitKey = true
			d.askKeyframe(layer, now)
		}
		return
	}
	d.waitKey, d.rebase = false, false
}

// writeQueued writes one queued packet; only the queue's writer goroutine calls it.
func (d *downTrack) writeQueued(p *queuedPacket) {
	d.qhdr.SequenceNumber, d.qhdr.Timestamp, d.qhdr.Marker = p.seq, p.ts, p.marker
	n, err := d.writer.WriteRTP(&d.qhdr, p.payload[:p.n])
	if d.counted(n, err) {
		d.sr.sent(p.ts, p.n, d.up.now())
	} else if n == 0 && err == nil {
		d.resync.Store(true)
	}
}

// askKeyframe re-asks a layer for a keyframe while this downtrack waits for one, at most
// once per interval.
func (d *downTrack) askKeyframe(u *upTrack, now int64) {
	if now-d.keyAsk >= keyAskInterval {
		d.keyAsk = now
		u.requestKeyframe()
	}
}
