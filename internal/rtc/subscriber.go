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

	mu    sync.Mutex // guards pub and downs
	pub   *publisher
	downs []*downTrack
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
	pc, err := x.newPC()
	if err != nil {
		return "", err
	}
	if err := x.sub.addTracks(pc, pub); err != nil {
		return "", err
	}
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

// start runs when the subscriber's PeerConnection connects.
func (sub *subscriber) start() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, d := range sub.downs {
		d.activate()
	}
}

// stop runs when the subscription ends, after its PeerConnection closed.
func (sub *subscriber) stop(ctx context.Context, m Member) {
	sub.mu.Lock()
	pub, downs := sub.pub, sub.downs
	sub.mu.Unlock()
	if pub != nil {
		pub.removeSubscriber(sub)
	}
	for _, d := range downs {
		d.leave()
		sub.sess.log.Info("downtrack ended", "track_id", d.ID(),
			"sent", d.sent.Load(), "dropped", d.dropped.Load(), "failed", d.failed.Load(),
			"contended", d.contended.Load(), "layer_switches", d.switches.Load())
	}
	if m != nil && sub.subscribed.Load() {
		m.StopSubscribe(ctx, sub.target)
	}
}
