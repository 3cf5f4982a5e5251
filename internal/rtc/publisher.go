package rtc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// publisher is the publish side of a session: its tracks and the subscriptions watching them.
type publisher struct {
	sess       *session
	publishing atomic.Bool // StartPublish succeeded, so ending calls StopPublish

	mu        sync.Mutex     // guards tracks, subs, stopped, recording, in and fb
	in        *inbound       // direct receive over UDP (inbound.go); set with the PeerConnection
	fb        *feedback      // the RTCP the publisher gets back (feedback.go); set with the PeerConnection
	loops     sync.WaitGroup // the tracks' read loops, which write to the recording
	tracks    []*upTrack
	subs      map[*subscriber]struct{}
	stopped   bool
	recording Recording // nil when the stage does not record, or not yet
}

// publish joins, starts publishing and answers the offer. On error the caller ends x.
func (s *SFU) publish(ctx context.Context, x *session, userAgent string, offer string, parsed *sdp.SessionDescription) (string, error) {
	m, err := x.join(ctx, userAgent)
	if err != nil {
		return "", err
	}
	// Refused before it starts: a publish with no usable codec publishes nothing, and
	// replaces no live publish of the same token.
	if err := offerCodecError(parsed); err != nil {
		return "", m.RefusePublish(ctx, err)
	}
	// DESIGN.md: one live publish per token; a second publish replaces the first.
	if old := s.publisher(x.stageArn, x.participantID); old != nil {
		old.sess.end(stage.ReasonReplaced)
	}
	if err := m.StartPublish(ctx); err != nil {
		return "", fmt.Errorf("start publish %s: %w", x.participantID, err)
	}
	x.pub.publishing.Store(true)
	pc, err := x.newPC(x.sfu.eng.api)
	if err != nil {
		return "", err
	}
	fb, err := newFeedback(x.sfu.eng.feedback, pc.WriteRTCP)
	if err != nil {
		return "", err
	}
	x.pub.mu.Lock()
	x.pub.in, x.pub.fb = &inbound{eng: x.sfu.eng, pc: pc}, fb
	x.pub.mu.Unlock()
	pc.OnTrack(x.pub.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", errBadOffer, err)
	}
	if err := x.pub.accept(pc, parsed); err != nil {
		return "", err
	}
	x.pub.record(m.SessionID())
	return x.negotiate(ctx, pc)
}

// accept chooses the codec of every m-line the client sends on and makes its upTrack.
func (p *publisher) accept(pc *webrtc.PeerConnection, offer *sdp.SessionDescription) error {
	var tracks []*upTrack
	for _, tr := range pc.GetTransceivers() {
		md := mediaByMid(offer, tr.Mid())
		if md == nil || tr.Direction() != webrtc.RTPTransceiverDirectionRecvonly {
			continue
		}
		prefs, ok := pickCodec(tr.Kind(), offeredCodecs(md))
		if !ok { // offerCodecError let it through: pion saw the m-line otherwise
			return codecError(tr.Kind())
		}
		if err := tr.SetCodecPreferences(prefs); err != nil {
			return fmt.Errorf("%w: %w", errNoCodec, err)
		}
		tracks = append(tracks, newLayers(upTrackParams{
			mid: tr.Mid(), kind: tr.Kind(), codec: prefs[0],
			streamID: p.sess.participantID, pc: pc, log: p.sess.log,
		}, simulcastRIDs(md)))
	}
	if len(tracks) == 0 {
		return fmt.Errorf("%w: the offer sends no audio or video", errBadOffer)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tracks = tracks
	return nil
}

// record starts the publish's recording in the background, so a stage that records joins as
// fast as one that does not: the recording begins at the first keyframe anyway, which its
// muxer asks for.
func (p *publisher) record(sessionID string) {
	rec := p.sess.sfu.cfg.Recorder
	if rec == nil {
		return
	}
	tracks := p.upTracks()
	pub := RecordedPublish{StageArn: p.sess.stageArn, SessionID: sessionID, ParticipantID: p.sess.participantID}
	for _, u := range tracks {
		t := RecordedTrack{MimeType: u.codec.MimeType, ClockRate: u.codec.ClockRate}
		if u.keyframe != nil {
			t.RequestKeyframe = u.requestKeyframe
		}
		pub.Tracks = append(pub.Tracks, t)
	}
	p.sess.sfu.spawn(func() {
		r, err := rec.Record(context.Background(), pub)
		if err != nil {
			p.sess.log.Warn("recording not started", "err", err)
		}
		if r == nil {
			return
		}
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			r.Close()
			return
		}
		p.recording = r
		for i, u := range tracks {
			if s := r.Sink(i); s != nil {
				u.sink.Store(&sinkRef{s})
			}
		}
		p.mu.Unlock()
	})
}

// onTrack runs on pion's goroutine when a stream arrives: each announced layer gets its read
// loop, from the socket over UDP (inbound.go) or from pion, and a stream of an unannounced
// RID is drained. All end when the connection closes.
func (p *publisher) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	u := p.trackOf(recv.RTPTransceiver())
	spawn := p.sess.sfu.spawn
	p.mu.Lock()
	in, fb, stopped := p.in, p.fb, p.stopped
	if u != nil {
		u = u.layerByRID(remote.RID())
	}
	if u != nil && !stopped {
		p.loops.Add(1)
	}
	p.mu.Unlock()
	spawn(func() { drainRTCP(recv, remote.RID(), fb) })
	if u == nil || stopped {
		spawn(func() { drain(remote) })
		return
	}
	fr := fb.bind(streamInfo(remote, recv), uint32(remote.RtxSSRC()))
	ring, ctx, err := in.attach(uint32(remote.SSRC()), uint32(remote.RtxSSRC()))
	if err != nil {
		p.sess.log.Info("direct receive unavailable: reading through pion", "err", err)
		spawn(func() {
			defer p.loops.Done()
			u.readLoop(remote, fr)
		})
		return
	}
	spawn(func() { feed(remote, ring) })
	spawn(func() {
		defer p.loops.Done()
		u.readDirect(remote, ring, ctx, fr)
	})
}

// newLayers makes the upTracks of one m-line, one per simulcast RID (lowest quality first)
// or one without simulcast, sharing one clock so a downtrack can switch between them. It
// returns the highest layer, which stands for the m-line.
func newLayers(p upTrackParams, rids []string) *upTrack {
	if len(rids) == 0 {
		return newUpTrack(p)
	}
	p.epoch = time.Now()
	layers := make([]*upTrack, len(rids))
	for i, rid := range rids {
		p.rid = rid
		layers[i] = newUpTrack(p)
		layers[i].layer = int32(i)
	}
	for _, l := range layers {
		l.layers = layers
	}
	return layers[len(layers)-1]
}

// trackOf finds the upTrack of a transceiver's m-line.
func (p *publisher) trackOf(tr *webrtc.RTPTransceiver) *upTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.tracks {
		if tr != nil && u.mid == tr.Mid() {
			return u
		}
	}
	return nil
}

// upTracks returns the tracks subscribers can watch.
func (p *publisher) upTracks() []*upTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks
}

// addSubscriber registers a subscription to close when the publish ends; false if it has.
func (p *publisher) addSubscriber(sub *subscriber) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.subs == nil {
		p.subs = map[*subscriber]struct{}{}
	}
	p.subs[sub] = struct{}{}
	return true
}

func (p *publisher) removeSubscriber(sub *subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.subs, sub)
}

// stop runs when the publish session ends, after its PeerConnection closed: every
// subscription to it closes too (DESIGN.md), then the domain hears the publish stopped.
func (p *publisher) stop(ctx context.Context, m Member) {
	p.mu.Lock()
	p.stopped = true
	tracks, subs, recording, in, fb := p.tracks, p.subs, p.recording, p.in, p.fb
	p.subs = nil
	p.mu.Unlock()
	if in != nil {
		in.close()
	}
	p.loops.Wait() // the connection is closed, so is every ring: the loops are ending
	if fb != nil {
		fb.close()
	}
	for _, u := range tracks {
		for _, l := range u.layers {
			l.close()
		}
	}
	if recording != nil {
		recording.Close() // the read loops have ended: every packet has been written
	}
	list := make([]*session, 0, len(subs))
	for sub := range subs {
		list = append(list, sub.sess)
	}
	endAll(list, "publisher left")
	if m != nil && p.publishing.Load() {
		m.StopPublish(ctx)
	}
}
