package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
	"github.com/pion/webrtc/v4"
)

const (
	// connectTimeout ends a connection whose client never completes ICE and DTLS.
	connectTimeout = 30 * time.Second
	// leaveTimeout bounds the domain calls made when a connection ends.
	leaveTimeout = 5 * time.Second
	// handshakeGrace bounds how long an ending connection waits for a DTLS handshake in
	// flight: pion sends the close_notify that tells the client at once only once the
	// handshake is complete, and without it the client finds out from ICE's timeout, seconds
	// later. A client connects a moment before the server's side of the handshake completes.
	handshakeGrace = 250 * time.Millisecond
)

// session is one connection: a PeerConnection, the stage member it joined as, and its WHIP
// resource (Location, ETag). It is a publish or a subscription: exactly one of pub and sub is
// set, at creation.
type session struct {
	sfu           *SFU
	id, etag      string
	stageID       string
	stageArn      string
	participantID string // the token's jti
	claims        *token.Claims
	created       time.Time // tokens of PATCH and DELETE are checked as of this time
	log           *slog.Logger
	pub           *publisher
	sub           *subscriber

	// Set from the offer before the session is registered; read-only after.
	remoteUfrag string
	mids        []string

	mu     sync.Mutex // guards pc, member and ended
	pc     *webrtc.PeerConnection
	member Member
	ended  bool

	connected atomic.Bool
	settled   chan struct{} // closed once the PeerConnection is connected, failed or closed
	settle    sync.Once
	deadline  *time.Timer   // ends the session if it never connects; set by startDeadline
	done      chan struct{} // closed when end has finished
	trickled  atomic.Int32  // remote candidates added by PATCH
}

// newSession starts a session for verified claims on an existing stage.
func (s *SFU) newSession(c *token.Claims, stageID, stageArn, op string) *session {
	x := &session{
		sfu:           s,
		id:            randomHex(16),
		etag:          `"` + randomHex(8) + `"`,
		stageID:       stageID,
		stageArn:      stageArn,
		participantID: c.ParticipantID,
		claims:        c,
		created:       time.Now(),
		log:           s.log.With("stage_arn", stageArn, "participant_id", c.ParticipantID, "op", op),
		done:          make(chan struct{}),
		settled:       make(chan struct{}),
	}
	return x
}

// startDeadline arms the connect timeout. Called once the role (pub or sub) is set and
// before any other goroutine sees the session. The timer's own goroutine ends the session:
// Close, which ends every session, then waits for this end too.
func (x *session) startDeadline() {
	x.deadline = time.AfterFunc(connectTimeout, func() { x.end("connect timeout") })
}

// location is the WHIP session URL (RFC 9725 §4.2), an absolute path.
func (x *session) location() string { return "/whip/" + x.stageID + "/session/" + x.id }

// join joins the stage as this connection. The domain may Kick it from then on.
func (x *session) join(ctx context.Context, userAgent string) (Member, error) {
	c := x.claims
	m, err := x.sfu.cfg.Stages.Join(ctx, stage.JoinParams{
		StageArn:      x.stageArn,
		ParticipantID: c.ParticipantID,
		UserID:        c.UserID,
		Attributes:    c.Attributes,
		Publish:       c.Publish,
		Subscribe:     c.Subscribe,
		UserAgent:     userAgent,
		Protocol:      "WHIP",
		Kick:          x.kick,
	})
	if err != nil {
		return nil, fmt.Errorf("join stage %s as %s: %w", x.stageArn, c.ParticipantID, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended { // kicked while joining
		m.Leave(ctx)
		return nil, errEnded
	}
	x.member = m
	return m, nil
}

// newPC makes the session's PeerConnection from api (the engine's publisher or subscriber
// one) and watches its state.
func (x *session) newPC(api *webrtc.API) (*webrtc.PeerConnection, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	x.mu.Lock()
	ended := x.ended
	if !ended {
		x.pc = pc
	}
	x.mu.Unlock()
	if ended {
		pc.Close()
		return nil, errEnded
	}
	pc.OnConnectionStateChange(x.onState)
	return pc, nil
}

// onState runs on pion's goroutine: it must not block, so endings go to their own goroutine.
func (x *session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		x.settle.Do(func() { close(x.settled) })
	}
	switch st {
	case webrtc.PeerConnectionStateConnected:
		if x.connected.CompareAndSwap(false, true) {
			x.deadline.Stop()
			x.log.Info("connected")
			if x.sub != nil {
				x.sub.start()
			}
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		if !x.hasEnded() { // our own end closes the connection too
			x.kick("connection " + st.String())
		}
	}
}

// negotiate answers the offer already applied, with every server candidate: the mux makes
// host candidates at once, so waiting for gathering costs nothing and spares clients a trickle.
func (x *session) negotiate(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("%w: %w", errBadOffer, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gather candidates: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

func (x *session) hasEnded() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.ended
}

// awaitHandshake lets a DTLS handshake in flight finish, for at most handshakeGrace, so that
// closing pc tells the client (handshakeGrace).
func (x *session) awaitHandshake(pc *webrtc.PeerConnection) {
	if pc.SCTP().Transport().State() != webrtc.DTLSTransportStateConnecting {
		return
	}
	t := time.NewTimer(handshakeGrace)
	defer t.Stop()
	select {
	case <-x.settled:
	case <-t.C:
	}
}

// kick ends the session without blocking (stage.JoinParams.Kick, pion callbacks, timers).
func (x *session) kick(reason string) {
	x.sfu.spawn(func() { x.end(reason) }) // ends with x.end
}

// end closes the connection and leaves the stage, once; later calls wait for the first.
func (x *session) end(reason string) {
	x.mu.Lock()
	if x.ended {
		x.mu.Unlock()
		<-x.done
		return
	}
	x.ended = true
	pc, member := x.pc, x.member
	x.mu.Unlock()

	x.sfu.forget(x)
	x.deadline.Stop()
	if pc != nil {
		x.awaitHandshake(pc)
	}
	if x.sub != nil {
		// Stop forwarding first: the fast path writes to the socket itself, and would go on
		// reaching the client while pion closes the connection.
		x.sub.detach()
	}
	if pc != nil {
		if err := pc.GracefulClose(); err != nil {
			x.log.Warn("close peer connection", "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if x.pub != nil {
		x.pub.stop(ctx, member)
	}
	if x.sub != nil {
		x.sub.stop(ctx, member)
	}
	if member != nil {
		member.Leave(ctx)
	}
	x.log.Info("connection ended", "reason", reason)
	close(x.done)
}

// randomHex returns n random bytes in hex: unguessable ids for URLs and ETags.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
