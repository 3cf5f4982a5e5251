package rtc

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// subscriber is the subscribe side of a session: one publisher's tracks, one downtrack each.
type subscriber struct {
	sess       *session
	target     string      // the publisher's participant id
	subscribed atomic.Bool // StartSubscribe succeeded, so ending calls StopSubscribe

	mu      sync.Mutex // guards the fields below
	pub     *publisher
	downs   []*downTrack
	pc      *webrtc.PeerConnection
	ice     *webrtc.ICETransport
	queue   *sendQueue // set once ICE selects a TCP pair; closed by stop
	fast    bool       // the downtracks write over the fast path (fastpath.go)
	rtcp    *rtcpIn    // the subscriber's RTCP, taken at the socket with the fast path
	rtcpAt  netip.AddrPort
	started bool // start ran: the sender reports are going
	stopped bool
	done    chan struct{} // closed by stop: ends the sender reports
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
	pc, err := x.newPC(x.sfu.eng.api)
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
		d.rtcp.log = sub.sess.log
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

// readRTCP starts one goroutine per negotiated sender to read the subscriber's RTCP that pion
// delivers (rtcpState.apply says what is done with it). Each ends when the PeerConnection
// closes.
func (sub *subscriber) readRTCP(pc *webrtc.PeerConnection) {
	for _, tr := range pc.GetTransceivers() {
		d := downTrackOf(tr)
		if d == nil || tr.Mid() == "" {
			continue
		}
		sender := tr.Sender()
		sub.sess.sfu.spawn(func() { readSenderRTCP(sender, d) })
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

// readSenderRTCP is one sender's RTCP loop: what pion delivers before the fast path takes the
// subscriber's RTCP from the socket (rtcpin.go), and all of it over ICE-TCP.
func readSenderRTCP(sender *webrtc.RTPSender, d *downTrack) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		d.rtcp.apply(d, pkts, time.Now())
	}
}

// watchICE moves the downtracks to a send queue when ICE selects a TCP pair (sendqueue.go).
// Called before the offer is applied, so before ICE can select anything.
func (sub *subscriber) watchICE(pc *webrtc.PeerConnection) {
	ice := pc.SCTP().Transport().ICETransport()
	sub.mu.Lock()
	sub.ice, sub.pc = ice, pc
	sub.mu.Unlock()
	ice.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		if isTCPPair(p) {
			sub.useQueue()
			return
		}
		sub.retarget(p)
	})
}

// retarget points the fast path at a newly selected UDP pair.
func (sub *subscriber) retarget(p *webrtc.ICECandidatePair) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.fast {
		return
	}
	t, err := sub.sess.sfu.eng.targetOf(p)
	if err != nil {
		sub.sess.log.Warn("fast path: new candidate pair", "err", err)
		return
	}
	for _, d := range sub.downs {
		if f := d.fast.Load(); f != nil {
			f.target.Store(t)
		}
	}
	if sub.rtcp != nil {
		in := sub.sess.sfu.eng.in
		in.unrouteRTCP(sub.rtcpAt, sub.rtcp)
		if at, ok := remoteAddr(p); ok {
			sub.rtcpAt = at
			in.routeRTCP(at, sub.rtcp)
		}
	}
}

// remoteAddr is a UDP pair's remote address as the media socket's reader sees it.
func remoteAddr(p *webrtc.ICECandidatePair) (netip.AddrPort, bool) {
	if p == nil || p.Remote == nil {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(p.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), p.Remote.Port), true
}

func isTCPPair(p *webrtc.ICECandidatePair) bool {
	return p != nil && (p.Local.Protocol == webrtc.ICEProtocolTCP || p.Remote.Protocol == webrtc.ICEProtocolTCP)
}

// useQueue gives the subscription its send queue and starts the writer goroutine, once. The
// queue stays if ICE later moves to UDP: packets must not overtake those still queued.
// Moving from UDP to TCP after the fast path started hands the SSRCs to pion's SRTP session,
// whose rollover counters start at 0: a stream whose sequence numbers had already wrapped
// would no longer decrypt. Known and left: clients pick ICE-TCP when
// they connect, not minutes into a call (docs/MEDIA.md).
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
	sub.unrouteRTCP()
	sub.sess.sfu.spawn(sub.queue.run) // ends when stop closes the queue
	sub.sess.log.Info("subscriber on ICE-TCP: writing through a send queue")
}

// fastPaths makes each downtrack's SRTP sender on ICE's selected UDP pair (fastpath.go).
// It calls into pion, so it runs without mu: pion calls watchICE's handler, which takes mu,
// from inside ICE.
// With them comes the subscriber's RTCP reader at the socket (rtcpin.go) and its address, or
// nil if the pair's remote address is unreadable: then pion reads the RTCP.
func (sub *subscriber) fastPaths(pc *webrtc.PeerConnection, ice *webrtc.ICETransport, downs []*downTrack) ([]*fastPath, *rtcpIn, netip.AddrPort, error) {
	var at netip.AddrPort
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil {
		return nil, nil, at, err
	}
	t, err := sub.sess.sfu.eng.targetOf(pair)
	if err != nil {
		return nil, nil, at, err
	}
	k, err := sessionKeys(pc)
	if err != nil {
		return nil, nil, at, err
	}
	keys := srtpKeys{profile: k.profile, key: k.localKey, salt: k.localSalt}
	paths := make([]*fastPath, len(downs))
	for i := range paths {
		c, err := keys.newContext()
		if err != nil {
			return nil, nil, at, err
		}
		paths[i] = &fastPath{srtp: c}
		paths[i].target.Store(t)
	}
	at, ok := remoteAddr(pair)
	if !ok {
		return paths, nil, at, nil
	}
	in, err := newRTCPIn(srtpKeys{profile: k.profile, key: k.remoteKey, salt: k.remoteSalt}, downs)
	if err != nil {
		return nil, nil, at, err
	}
	return paths, in, at, nil
}

func (sub *subscriber) rtcpIn() *rtcpIn {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.rtcp
}

// unrouteRTCP gives the subscriber's RTCP back to pion; called with mu held.
func (sub *subscriber) unrouteRTCP() {
	if sub.rtcp != nil {
		sub.sess.sfu.eng.in.unrouteRTCP(sub.rtcpAt, sub.rtcp)
	}
}

// start runs when the subscriber's PeerConnection connects. The selected pair is checked
// once more, in case pion reported it before watchICE's handler was in place. Over UDP the
// downtracks then take the fast path; if it cannot be set up they write through pion.
func (sub *subscriber) start() {
	sub.mu.Lock()
	ice, pc, downs := sub.ice, sub.pc, sub.downs
	sub.mu.Unlock()
	if ice == nil || pc == nil {
		return
	}
	tcp := false
	if p, err := ice.GetSelectedCandidatePair(); err == nil && isTCPPair(p) {
		sub.useQueue()
		tcp = true
	}
	var (
		paths  []*fastPath
		rtcpIn *rtcpIn
		rtcpAt netip.AddrPort
	)
	if !tcp {
		var err error
		if paths, rtcpIn, rtcpAt, err = sub.fastPaths(pc, ice, downs); err != nil {
			sub.sess.log.Warn("fast path unavailable: sending through pion", "err", err)
		}
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.stopped {
		return
	}
	if paths != nil && sub.queue == nil && !sub.fast {
		for i, d := range sub.downs {
			d.fast.Store(paths[i])
		}
		sub.fast = true
		if rtcpIn != nil {
			sub.rtcp, sub.rtcpAt = rtcpIn, rtcpAt
			sub.sess.sfu.eng.in.routeRTCP(rtcpAt, rtcpIn)
		}
	}
	if !sub.started {
		sub.started = true
		write, downs, done := pc.WriteRTCP, sub.downs, sub.done
		sub.sess.sfu.spawn(func() { sub.sendReports(write, downs, done) })
	}
	for _, d := range sub.downs {
		d.activate()
	}
}

// detach stops forwarding to the subscriber; stop does the rest.
func (sub *subscriber) detach() {
	sub.mu.Lock()
	downs := sub.downs
	sub.mu.Unlock()
	for _, d := range downs {
		d.leave()
	}
}

// stop runs when the subscription ends, after its PeerConnection closed.
func (sub *subscriber) stop(ctx context.Context, m Member) {
	sub.mu.Lock()
	pub, downs, queue := sub.pub, sub.downs, sub.queue
	if !sub.stopped {
		close(sub.done)
	}
	sub.stopped = true
	sub.unrouteRTCP()
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
			"queue_overflows", d.overflowed.Load(), "retransmitted", d.retransmitted.Load(),
			"fast_path", d.fast.Load() != nil)
	}
	if in := sub.rtcpIn(); in != nil {
		sub.sess.log.Info("subscriber RTCP read at the socket", "packets", in.direct.Load(), "bad", in.bad.Load())
	}
	if m != nil && sub.subscribed.Load() {
		m.StopSubscribe(ctx, sub.target)
	}
}
