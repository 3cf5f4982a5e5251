package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// subscriber is the subscribe side of a session: one publisher's tracks, one downtrack each.
type subscriber struct {
	sess       *session
	target     string      // the publisher's participant id
	subscribed atomic.Bool // StartSubscribe succeeded, so ending calls StopSubscribe

	mu      sync.Mutex // guards pub, downs, ice, queue and stopped
	pub     *publisher
	downs   []*downTrack
	ice     *webrtc.ICETransport
	queue   *sendQueue // set once ICE selects a TCP pair; closed by stop
	stopped bool
}

// subscribe joins, starts the subscription and answers the client's recvonly offer with the
// publisher's current tracks. On error the caller ends x.
func (s *SFU) subscribe(ctx context.Context, x *session, userAgent string, offer string, parsed *sdp.SessionDescription) (string, error) {
	m, err := x.join(ctx, userAgent)
	if err != nil {
		return "", err
	}
	if err := m.StartSubscribe(ctx, x.sub.target); err != nil {
		return "", fmt.Errorf("subscribe to %s: %w", x.sub.target, err)
	}
	x.sub.subscribed.Store(true)
	pub := s.publisher(x.stageArn, x.sub.target)
	if pub == nil {
		return "", fmt.Errorf("subscribe to %s: no live publish: %w", x.sub.target, stage.ErrPublisherNotFound)
	}
	pc, err := x.newPC(x.sfu.eng.subAPI)
	if err != nil {
		return "", err
	}
	if err := x.sub.addTracks(pc, pub); err != nil {
		return "", err
	}
	x.sub.watchICE(pc)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", errBadOffer, err)
	}
	if err := preferCodecs(pc, parsed); err != nil {
		return "", err
	}
	answer, err := x.negotiate(ctx, pc)
	if err != nil {
		return "", err
	}
	if !pub.addSubscriber(x.sub) {
		return "", fmt.Errorf("subscribe to %s: publish ended: %w", x.sub.target, stage.ErrPublisherNotFound)
	}
	x.sub.readRTCP(pc)
	return answer, nil
}

// addTracks gives the PeerConnection a sendonly downtrack per published track, before the
// offer is applied, so pion pairs them with the offer's recvonly m-lines.
func (sub *subscriber) addTracks(pc *webrtc.PeerConnection, pub *publisher) error {
	var downs []*downTrack
	for _, u := range pub.upTracks() {
		d := newDownTrack(u)
		_, err := pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fmt.Errorf("add %s track: %w", u.kind, err)
		}
		downs = append(downs, d)
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.pub, sub.downs = pub, downs
	return nil
}

// preferCodecs lists, on each m-line the offer paired with a downtrack, the subscriber's codec
// that carries the publisher's packets unchanged, and its RTX.
func preferCodecs(pc *webrtc.PeerConnection, offer *sdp.SessionDescription) error {
	for _, tr := range pc.GetTransceivers() {
		d := downTrackOf(tr)
		md := mediaByMid(offer, tr.Mid())
		if d == nil || md == nil {
			continue
		}
		offered := offeredCodecs(md)
		c, ok := matchCodec(d.up.codec, offered)
		if !ok {
			return fmt.Errorf("%w: the publisher sends %s, which the offer cannot receive", errNoCodec, d.up.codec.MimeType)
		}
		if err := tr.SetCodecPreferences(withRTX(c, offered)); err != nil {
			return fmt.Errorf("%w: %w", errNoCodec, err)
		}
	}
	return nil
}

// readRTCP starts one goroutine per negotiated sender: it reads the subscriber's RTCP (the
// interceptors answer NACKs and read receiver reports from it), turns PLI and FIR into a
// keyframe request to the publisher and, for simulcast video, picks the layer from the
// subscriber's bandwidth (bwe.go). Each ends when the PeerConnection closes.
func (sub *subscriber) readRTCP(pc *webrtc.PeerConnection) {
	for _, tr := range pc.GetTransceivers() {
		d := downTrackOf(tr)
		if d == nil || tr.Mid() == "" {
			continue
		}
		sender := tr.Sender()
		log := sub.sess.log.With("track_id", d.ID())
		sub.sess.sfu.spawn(func() { readSenderRTCP(sender, d, log) })
	}
}

// downTrackOf returns the downtrack a transceiver sends, or nil: the offer may have m-lines
// the publisher has no track for, which pion answers with a transceiver of its own.
func downTrackOf(tr *webrtc.RTPTransceiver) *downTrack {
	sender := tr.Sender()
	if sender == nil {
		return nil
	}
	d, _ := sender.Track().(*downTrack)
	return d
}

// readSenderRTCP is one sender's RTCP loop; the bandwidth estimate e is its own.
func readSenderRTCP(sender *webrtc.RTPSender, d *downTrack, log *slog.Logger) {
	var e bwe
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.keyframeRequested()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				e.remb(uint64(p.Bitrate))
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					if r.SSRC == d.ssrc {
						e.loss(r.FractionLost, now, d.layers[d.cur.Load()].bitrate.Load())
					}
				}
			}
		}
		if len(d.layers) < 2 {
			continue
		}
		target := chooseLayer(d.layers, e.estimate)
		if d.setTarget(target) {
			log.Debug("simulcast target layer", "rid", d.layers[target].rid,
				"estimate_bps", e.estimate, "layer_bps", d.layers[target].bitrate.Load())
		}
	}
}

// watchICE moves the downtracks to a send queue when ICE selects a TCP pair (sendqueue.go).
// Called before the offer is applied, so before ICE can select anything.
func (sub *subscriber) watchICE(pc *webrtc.PeerConnection) {
	ice := pc.SCTP().Transport().ICETransport()
	sub.mu.Lock()
	sub.ice = ice
	sub.mu.Unlock()
	ice.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		if isTCPPair(p) {
			sub.useQueue()
		}
	})
}

func isTCPPair(p *webrtc.ICECandidatePair) bool {
	return p != nil && (p.Local.Protocol == webrtc.ICEProtocolTCP || p.Remote.Protocol == webrtc.ICEProtocolTCP)
}

// useQueue gives the subscription its send queue and starts the writer goroutine, once. The
// queue stays if ICE later moves to UDP: packets must not overtake those still queued.
func (sub *subscriber) useQueue() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.queue != nil || sub.stopped {
		return
	}
	sub.queue = newSendQueue()
	for _, d := range sub.downs {
		d.queue.Store(sub.queue)
	}
	sub.sess.sfu.spawn(sub.queue.run) // ends when stop closes the queue
	sub.sess.log.Info("subscriber on ICE-TCP: writing through a send queue")
}

// start runs when the subscriber's PeerConnection connects. The selected pair is checked
// once more, in case pion reported it before watchICE's handler was in place.
func (sub *subscriber) start() {
	sub.mu.Lock()
	ice := sub.ice
	sub.mu.Unlock()
	if ice != nil {
		if p, err := ice.GetSelectedCandidatePair(); err == nil && isTCPPair(p) {
			sub.useQueue()
		}
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, d := range sub.downs {
		d.activate()
	}
}

// stop runs when the subscription ends, after its PeerConnection closed.
func (sub *subscriber) stop(ctx context.Context, m Member) {
	sub.mu.Lock()
	pub, downs, queue := sub.pub, sub.downs, sub.queue
	sub.stopped = true
	sub.mu.Unlock()
	if pub != nil {
		pub.removeSubscriber(sub)
	}
	for _, d := range downs {
		d.leave()
	}
	if queue != nil {
		queue.close()
	}
	for _, d := range downs {
		sub.sess.log.Info("downtrack ended", "track_id", d.ID(),
			"sent", d.sent.Load(), "dropped", d.dropped.Load(), "failed", d.failed.Load(),
			"contended", d.contended.Load(), "layer_switches", d.switches.Load(),
			"queue_overflows", d.overflowed.Load())
	}
	if m != nil && sub.subscribed.Load() {
		m.StopSubscribe(ctx, sub.target)
	}
}
