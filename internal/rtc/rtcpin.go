package rtc

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// Direct RTCP from UDP subscribers: once a subscriber is on the fast path, the media socket's
// reader decrypts the SRTCP that arrives from its address and hands each packet to the
// downtracks it is for, inline. pion's way passes every RTCP datagram through four goroutines
// (UDP mux reader → ICE candidate → webrtc mux → SRTCP session → the sender's RTCP loop),
// each a wake-up; at 10 subscribers their receivers' reports and NACKs were about 6% of the
// server's CPU. What the subscriber's RTCP asks for never blocks (rtcpState.apply), so the
// reader is not held up. pion keeps STUN and DTLS, and a subscriber's RTCP before the fast
// path starts or over ICE-TCP (readSenderRTCP).

// rtcpIn is one subscriber's RTCP as the socket readers take it.
type rtcpIn struct {
	mu     sync.Mutex // one reader per local address; a new candidate pair may bring a second
	srtcp  *srtp.Context
	plain  [receiveBufSize]byte
	downs  []*downTrack
	direct atomic.Uint64 // datagrams handled
	bad    atomic.Uint64 // datagrams that did not decrypt or parse
}

func newRTCPIn(keys srtpKeys, downs []*downTrack) (*rtcpIn, error) {
	c, err := srtp.CreateContext(keys.key, keys.salt, keys.profile, srtp.SRTCPReplayProtection(srtpReplayWindow))
	if err != nil {
		return nil, err
	}
	return &rtcpIn{srtcp: c, downs: slices.Clone(downs)}, nil
}

// handle takes one SRTCP datagram from the subscriber.
func (in *rtcpIn) handle(b []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	plain, err := in.srtcp.DecryptRTCP(in.plain[:0], b, nil)
	if err != nil {
		in.bad.Add(1)
		return
	}
	pkts, err := rtcp.Unmarshal(plain)
	if err != nil {
		in.bad.Add(1)
		return
	}
	in.direct.Add(1)
	now := time.Now()
	for _, d := range in.downs {
		d.rtcp.apply(d, pkts, now)
	}
}

// rtcpState is what a downtrack keeps of its subscriber's RTCP: the bandwidth estimate that
// picks its simulcast layer. Both readers of that RTCP use it: pion's, through the sender's
// loop, and the socket reader's once the fast path is on. Rarely both at once, so a lock.
type rtcpState struct {
	mu  sync.Mutex
	e   bwe
	log *slog.Logger
}

// apply acts on the packets for d: PLI and FIR ask the publisher for a keyframe, NACKs mark
// packets for retransmission (rtx.go), REMB and receiver reports move the bandwidth estimate,
// and for simulcast the estimate picks the layer.
func (s *rtcpState) apply(d *downTrack, pkts []rtcp.Packet, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			if p.MediaSSRC == d.ssrc {
				d.keyframeRequested()
			}
		case *rtcp.FullIntraRequest:
			for _, f := range p.FIR {
				if f.SSRC == d.ssrc {
					d.keyframeRequested()
				}
			}
		case *rtcp.TransportLayerNack:
			if d.rtx != nil && p.MediaSSRC == d.ssrc {
				for i := range p.Nacks {
					p.Nacks[i].Range(func(seq uint16) bool {
						d.rtx.nacks.add(seq)
						return true
					})
				}
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if slices.Contains(p.SSRCs, d.ssrc) {
				s.e.remb(uint64(p.Bitrate))
			}
		case *rtcp.ReceiverReport:
			for _, r := range p.Reports {
				if r.SSRC == d.ssrc {
					s.e.loss(r.FractionLost, now, d.layers[d.cur.Load()].bitrate.Load())
				}
			}
		}
	}
	if len(d.layers) < 2 {
		return
	}
	target := chooseLayer(d.layers, s.e.estimate)
	if d.setTarget(target) && s.log != nil {
		s.log.Debug("simulcast target layer", "track_id", d.ID(), "rid", d.layers[target].rid,
			"estimate_bps", s.e.estimate, "layer_bps", d.layers[target].bitrate.Load())
	}
}
