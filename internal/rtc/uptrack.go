package rtc

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

const (
	// pliInterval spaces the keyframe requests sent to a publisher: every request costs it a
	// large frame, and one keyframe serves every subscriber waiting at that moment.
	pliInterval = 500 * time.Millisecond
	// receiveBufSize holds any packet pion delivers (its receive MTU is 1460).
	receiveBufSize = 1500
	// rateInterval is how often readLoop folds the bytes it counted into the bitrate estimate.
	rateInterval = int64(500 * time.Millisecond)
)

// upTrack is one published media line (audio or video) and the downtracks that watch it. One
// goroutine, readLoop, reads the forwarded stream and alone writes it to every downtrack
// (STYLE.md "The RTP hot path").
type upTrack struct {
	mid      string // the publisher's m-line
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecParameters // the one codec the answer allowed on this m-line
	rid      string                    // the simulcast layer this track reads; "" without simulcast
	layer    int32                     // index in layers
	layers   []*upTrack                // the m-line's layers, lowest quality first; set before any loop starts, read-only after
	streamID string                    // the publisher's participant id (msid stream)
	keyframe func([]byte) bool         // the codec's keyframe detector; nil for audio
	pc       *webrtc.PeerConnection    // the publisher's, for PLI
	log      *slog.Logger
	epoch    time.Time // origin of the monotonic clock now() reads

	subsMu sync.Mutex                   // serializes rebuilds of subs; readers never take it
	subs   atomic.Pointer[[]*downTrack] // immutable; replaced copy-on-write on join and leave

	ssrc       atomic.Uint32 // the forwarded stream's SSRC; 0 until it arrives
	lastPLI    atomic.Int64  // when the last PLI went out, on now()'s clock
	pliPending atomic.Bool   // a PLI is scheduled on pliTimer
	pliTimer   *time.Timer   // sends the scheduled PLI; stopped by close
	plis       atomic.Uint64
	bitrate    atomic.Uint64           // received bits per second, an EWMA updated every rateInterval
	sink       atomic.Pointer[sinkRef] // the recording's copy of the stream; nil when not recorded
	direct     atomic.Bool             // read from the socket (readDirect), not from pion

	// Owned by the read loop.
	buf           []byte
	rtxBuf        [receiveBufSize]byte // an RTX packet unwrapped
	pkt           rtp.Packet
	hdr           rtp.Header // scratch for DecryptRTP
	pt            uint8      // the stream's payload type
	fb            *feedbackReader
	packets       uint64
	malformed     uint64
	undecryptable uint64
	rateBytes     uint64 // bytes received since rateAt
	rateAt        int64  // start of the current rate window, on now()'s clock
}

// upTrackParams describes one published m-line.
type upTrackParams struct {
	mid      string
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecParameters
	rid      string
	streamID string
	epoch    time.Time // the clock origin the m-line's layers share; zero: now
	pc       *webrtc.PeerConnection
	log      *slog.Logger
}

// newUpTrack prepares the track of one m-line; readLoop starts when pion delivers the stream.
func newUpTrack(p upTrackParams) *upTrack {
	u := &upTrack{
		mid: p.mid, kind: p.kind, codec: p.codec, rid: p.rid, streamID: p.streamID, pc: p.pc,
		log:   p.log.With("track_id", p.kind.String()+"-"+p.mid),
		epoch: p.epoch,
		buf:   make([]byte, receiveBufSize),
	}
	if p.rid != "" {
		u.log = u.log.With("rid", p.rid)
	}
	if u.epoch.IsZero() {
		u.epoch = time.Now()
	}
	u.layers = []*upTrack{u}
	switch {
	case isMime(p.codec, webrtc.MimeTypeH264):
		u.keyframe = isH264Keyframe
	case isMime(p.codec, webrtc.MimeTypeVP8):
		u.keyframe = isVP8Keyframe
	}
	u.subs.Store(&[]*downTrack{})
	u.lastPLI.Store(-int64(pliInterval))
	u.pliTimer = time.AfterFunc(time.Hour, u.sendPLI)
	u.pliTimer.Stop()
	return u
}

// now is the time on the track's monotonic clock, in nanoseconds.
func (u *upTrack) now() int64 { return int64(time.Since(u.epoch)) }

// begin runs first in either loop, once pion delivers the stream.
func (u *upTrack) begin(remote *webrtc.TrackRemote, fb *feedbackReader) {
	u.fb = fb
	u.ssrc.Store(uint32(remote.SSRC()))
	u.pt = uint8(remote.PayloadType())
	u.requestKeyframe() // subscribers may be waiting already
}

// readLoop reads the forwarded stream from pion until the PeerConnection closes. It reads
// raw packets into one reused buffer and packet (TrackRemote.ReadRTP allocates twice per
// packet).
func (u *upTrack) readLoop(remote *webrtc.TrackRemote, fb *feedbackReader) {
	u.begin(remote, fb)
	for {
		n, _, err := remote.Read(u.buf)
		if err != nil {
			u.finish(err)
			return
		}
		u.handle(u.buf[:n], 0)
	}
}

// readDirect reads the stream from its ring (inbound.go) until the publish ends: SRTP from
// the socket, which it decrypts, and plain RTP that pion still delivered (feed).
func (u *upTrack) readDirect(remote *webrtc.TrackRemote, ring *inRing, ctx *srtp.Context, fb *feedbackReader) {
	u.begin(remote, fb)
	u.direct.Store(true)
	rtx := uint32(remote.RtxSSRC())
	for {
		s := ring.next()
		if s == nil {
			u.finish(io.EOF, "ring_dropped", ring.dropped.Load())
			return
		}
		u.receive(s, ctx, rtx)
		ring.release()
	}
}

// receive forwards one packet of the ring; rtx is the stream's RTX SSRC, or 0.
func (u *upTrack) receive(s *inSlot, ctx *srtp.Context, rtx uint32) {
	if s.plain {
		u.handle(u.buf[:copy(u.buf, s.buf[:s.n])], 0)
		return
	}
	out, err := ctx.DecryptRTP(u.buf[:0], s.buf[:s.n], &u.hdr)
	if err != nil { // forged, damaged or replayed: SRTP's authentication refused it
		u.undecryptable++
		return
	}
	u.handle(out, rtx)
}

// feed hands what pion still delivers of a directly received stream to its ring: packets
// in flight when the route was made, and any the route does not catch (an RTX stream pion
// identified, a new candidate pair). It ends when the PeerConnection closes.
func feed(remote *webrtc.TrackRemote, ring *inRing) {
	buf := make([]byte, receiveBufSize)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		ring.push(buf[:n], true)
	}
}

// handle forwards one received packet; rtx is the SSRC of the stream's RTX, whose packets
// carry the original sequence number first in their payload (RFC 4588 §4), or 0.
func (u *upTrack) handle(raw []byte, rtx uint32) {
	if u.pkt.Unmarshal(raw) != nil {
		u.malformed++
		return
	}
	if rtx != 0 && u.pkt.SSRC == rtx {
		padding := raw
		if raw = u.unwrapRTX(); raw == nil {
			if u.fb != nil {
				u.fb.readProbe(padding, &u.pkt.Header)
			}
			return
		}
	}
	if u.fb != nil {
		u.fb.read(raw, &u.pkt.Header)
	}
	u.packets++
	now := u.now()
	u.countBytes(len(raw), now)
	u.forward(now)
	if s := u.sink.Load(); s != nil {
		s.WriteRTP(raw)
	}
}

// unwrapRTX turns u.pkt, an RTX packet, back into the packet it repairs, and returns that
// marshalled; nil for a padding-only probe.
func (u *upTrack) unwrapRTX() []byte {
	p := &u.pkt
	if len(p.Payload) < 2 {
		return nil
	}
	p.SequenceNumber = binary.BigEndian.Uint16(p.Payload)
	p.Payload = p.Payload[2:]
	p.SSRC = u.ssrc.Load()
	p.PayloadType = u.pt
	p.Padding, p.PaddingSize = false, 0
	n, err := p.MarshalTo(u.rtxBuf[:])
	if err != nil {
		u.malformed++
		return nil
	}
	return u.rtxBuf[:n]
}

// sinkRef boxes a PacketSink so it can sit in an atomic.Pointer.
type sinkRef struct{ PacketSink }

// countBytes adds a packet to the bitrate window and, once per rateInterval, folds the
// window into the estimate: one atomic store per interval, none per packet.
func (u *upTrack) countBytes(n int, now int64) {
	if u.rateAt == 0 { // the first packet opens the first window
		u.rateAt = now
	}
	u.rateBytes += uint64(n)
	elapsed := now - u.rateAt
	if elapsed < rateInterval {
		return
	}
	rate := u.rateBytes * 8 * 1e9 / uint64(elapsed)
	if old := u.bitrate.Load(); old != 0 {
		rate = (old + rate) / 2 // EWMA, weight 1/2: settles within a few seconds
	}
	u.bitrate.Store(max(rate, 1)) // 0 means "not measured yet"
	u.rateBytes, u.rateAt = 0, now
}

// forward writes u.pkt to every downtrack. It is the per-packet path: no lock, no
// allocation, no waiting.
func (u *upTrack) forward(now int64) {
	key := u.keyframe != nil && u.keyframe(u.pkt.Payload)
	for _, d := range *u.subs.Load() {
		d.writeRTP(&u.pkt, u.layer, key, now)
	}
}

// layerByRID returns the layer of the m-line that reads rid, or nil.
func (u *upTrack) layerByRID(rid string) *upTrack {
	for _, l := range u.layers {
		if l.rid == rid {
			return l
		}
	}
	return nil
}

// finish logs the loop's counts when the stream ends.
func (u *upTrack) finish(err error, extra ...any) {
	attrs := append(extra, "packets", u.packets, "malformed", u.malformed, "undecryptable", u.undecryptable,
		"plis", u.plis.Load(), "direct", u.direct.Load())
	if !errors.Is(err, io.EOF) {
		attrs = append(attrs, "err", err)
	}
	u.log.Info("track ended", attrs...)
}

// close stops keyframe requests; the loop itself ends when the PeerConnection closes.
func (u *upTrack) close() { u.pliTimer.Stop() }

// addSub starts forwarding to d.
func (u *upTrack) addSub(d *downTrack) {
	u.subsMu.Lock()
	defer u.subsMu.Unlock()
	old := *u.subs.Load()
	next := make([]*downTrack, 0, len(old)+1)
	next = append(append(next, old...), d)
	u.subs.Store(&next)
}

// removeSub stops forwarding to d; removing an absent downtrack does nothing.
func (u *upTrack) removeSub(d *downTrack) {
	u.subsMu.Lock()
	defer u.subsMu.Unlock()
	old := *u.subs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	u.subs.Store(&next)
}

// requestKeyframe asks the publisher for a keyframe (RFC 4585 §6.3.1 PLI), at most once per
// pliInterval: a request inside the interval is sent when it ends. Never blocks, never
// allocates; the PLI goes out on the timer's goroutine.
func (u *upTrack) requestKeyframe() {
	if u.keyframe == nil || !u.pliPending.CompareAndSwap(false, true) {
		return
	}
	wait := time.Duration(u.lastPLI.Load() + int64(pliInterval) - u.now())
	u.pliTimer.Reset(max(wait, 0))
}

// sendPLI runs on pliTimer.
func (u *upTrack) sendPLI() {
	defer u.pliPending.Store(false)
	ssrc := u.ssrc.Load()
	if ssrc == 0 {
		return // readLoop asks again when the stream arrives
	}
	u.lastPLI.Store(u.now())
	err := u.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	if err == nil {
		u.plis.Add(1)
	}
}

// drain reads a stream nobody watches (a simulcast RID the offer did not announce), so pion's buffers
// and interceptors keep working, until the PeerConnection closes.
func drain(remote *webrtc.TrackRemote) {
	buf := make([]byte, receiveBufSize)
	for {
		if _, _, err := remote.Read(buf); err != nil {
			return
		}
	}
}

// drainRTCP reads a receiver's RTCP (sender reports) and shows it to the publisher's
// feedback, until the PeerConnection closes.
func drainRTCP(recv *webrtc.RTPReceiver, rid string, fb *feedback) {
	buf := make([]byte, receiveBufSize)
	for {
		var n int
		var err error
		if rid == "" {
			n, _, err = recv.Read(buf)
		} else {
			n, _, err = recv.ReadSimulcast(buf, rid)
		}
		if err != nil {
			return
		}
		fb.readRTCP(buf[:n])
	}
}
