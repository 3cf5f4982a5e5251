package rtc

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A video downtrack with RTX negotiated answers its subscriber's NACKs itself (RFC 4588):
// pion's NACK responder sits in the interceptor chain, which the fast path bypasses. The RTCP
// goroutine only marks the sequence numbers asked for (nackSet, atomics); the forwarding
// goroutine that holds busy resends them from the downtrack's history when it next writes to
// this downtrack, so the history has one owner and no lock. A retransmission waits at most
// for the track's next packet: about 6 ms at 1.5 Mbps.

// historySize is the packets a downtrack keeps for retransmission: about 1.4 s of 1.5 Mbps
// video, longer than any repair is useful.
const historySize = 256

// history is the last historySize packets sent, by sequence number; owned by busy's holder.
type history struct {
	slots [historySize]sentPacket
	buf   [receiveBufSize + 2]byte // an RTX payload: the original sequence number, then the payload
}

type sentPacket struct {
	seq     uint16
	ok      bool
	marker  bool
	ts      uint32
	n       int
	payload [receiveBufSize]byte
}

func (h *history) put(hdr *rtp.Header, payload []byte) {
	s := &h.slots[hdr.SequenceNumber%historySize]
	s.seq, s.ok, s.marker, s.ts = hdr.SequenceNumber, true, hdr.Marker, hdr.Timestamp
	s.n = copy(s.payload[:], payload)
}

func (h *history) get(seq uint16) *sentPacket {
	s := &h.slots[seq%historySize]
	if !s.ok || s.seq != seq {
		return nil
	}
	return s
}

// nackSet is the sequence numbers a subscriber asked for and not yet resent. Each slot holds
// a wanted sequence number plus wantFlag; the RTCP reader sets, busy's holder clears.
type nackSet struct {
	pending atomic.Bool
	want    [historySize]atomic.Uint32
}

const wantFlag = 1 << 16

func (n *nackSet) add(seq uint16) {
	n.want[seq%historySize].Store(uint32(seq) | wantFlag)
	n.pending.Store(true)
}

// rtxStream is what a downtrack needs to retransmit: the history and the RTX stream's header.
type rtxStream struct {
	hist  history
	hdr   rtp.Header // RTX SSRC and payload type; sequence numbers of its own
	nacks nackSet
}

// newRTXStream is the RTX stream negotiated for a video downtrack, or nil: audio, or a
// subscriber that did not offer RTX for the codec.
func newRTXStream(ctx webrtc.TrackLocalContext, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) *rtxStream {
	ssrc := uint32(ctx.SSRCRetransmission())
	if kind != webrtc.RTPCodecTypeVideo || ssrc == 0 {
		return nil
	}
	for _, c := range ctx.CodecParameters() {
		if isMime(c, webrtc.MimeTypeRTX) && fmtpValue(c.SDPFmtpLine, "apt") == strconv.Itoa(int(codec.PayloadType)) {
			// A random first sequence number, as RFC 3550 §5.1 asks of every stream.
			hdr := rtp.Header{Version: 2, PayloadType: uint8(c.PayloadType), SSRC: ssrc, SequenceNumber: uint16(rand.Uint32())}
			return &rtxStream{hdr: hdr}
		}
	}
	return nil
}

// resend retransmits the packets asked for that the history still holds; called by busy's
// holder. Sequence numbers no longer held are forgotten: the subscriber's jitter buffer has
// moved on, or asks for a keyframe.
func (d *downTrack) resend() {
	r := d.rtx
	if r == nil || !r.nacks.pending.Load() {
		return
	}
	r.nacks.pending.Store(false)
	if d.queue.Load() != nil {
		// ICE-TCP: nothing is lost in transit, and only the queue's writer may wait on the
		// connection. Forget the request.
		for i := range r.nacks.want {
			r.nacks.want[i].Store(0)
		}
		return
	}
	for i := range r.nacks.want {
		v := r.nacks.want[i].Load()
		if v == 0 || !r.nacks.want[i].CompareAndSwap(v, 0) {
			continue
		}
		s := r.hist.get(uint16(v))
		if s == nil {
			continue
		}
		binary.BigEndian.PutUint16(r.hist.buf[:2], s.seq)
		n := 2 + copy(r.hist.buf[2:], s.payload[:s.n])
		r.hdr.SequenceNumber++
		r.hdr.Timestamp, r.hdr.Marker = s.ts, s.marker
		if _, err := d.send(&r.hdr, r.hist.buf[:n]); err != nil {
			d.failed.Add(1)
			continue
		}
		d.retransmitted.Add(1)
	}
}
