// Package events serves the events websocket: a participant connects with its token, joins the
// stage as that participant (which keeps the session alive, as the IVS SDK's join does) and
// receives the stage's participants, then every change, as JSON (docs/EVENTS.md).
//
// It keeps no stage state of its own and never blocks the stage: each connection drains the
// bounded channel Stages.Watch gives it and is dropped when its client cannot keep up.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

// TokenVerifier checks a participant token at now; token.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, tok string, now time.Time) (*token.Claims, error)
}

// Stages is what the events websocket needs from the stage domain.
type Stages interface {
	// Join registers the events connection as that participant (JOINED; it keeps the session
	// alive, as the IVS SDK's join does). Errors: stage.ErrNotFound (stage gone), stage.ErrRevoked.
	Join(ctx context.Context, p stage.JoinParams) (Member, error)
	// Watch returns the stage's participants now and then every change, in order; stop ends
	// it. The channel is closed if the watcher falls too far behind or the stage is deleted
	// (after a ChangeStageDeleted).
	Watch(stageArn string) (snapshot []stage.ParticipantView, changes <-chan stage.Change, stop func(), err error)
}

// Member is one joined connection of a participant.
type Member interface {
	ParticipantID() string
	Leave(ctx context.Context)
}

// Config wires a Server. Tokens and Stages are required.
type Config struct {
	Tokens TokenVerifier
	Stages Stages
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// PingInterval is how often the server pings each client; a client that has not answered
	// by the next ping is dropped. Zero means 15 s.
	PingInterval time.Duration
}

const (
	defaultPingInterval = 15 * time.Second
	// writeTimeout bounds every message write; a client slower than this is dropped.
	writeTimeout = 5 * time.Second
	// leaveTimeout bounds Member.Leave once the connection has ended.
	leaveTimeout = 5 * time.Second
)

// Server is the events websocket endpoint, an http.Handler for Path and Path + "/". It is safe
// for concurrent use.
type Server struct {
	tokens       TokenVerifier
	stages       Stages
	log          *slog.Logger
	pingInterval time.Duration
	shutdown     chan struct{} // closed by Close: every connection closes

	mu     sync.Mutex // guards closed, so no request is counted in once Close waits
	closed bool
	conns  sync.WaitGroup // one count per request being served, done when its goroutines ended
}

// New returns a Server.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ping := cfg.PingInterval
	if ping <= 0 {
		ping = defaultPingInterval
	}
	return &Server{
		tokens:       cfg.Tokens,
		stages:       cfg.Stages,
		log:          log.With("component", "events"),
		pingInterval: ping,
		shutdown:     make(chan struct{}),
	}
}

// ServeHTTP upgrades an events request at Path or Path/<stageId> and serves the connection
// until it ends. Refusals before the upgrade are plain HTTP: 401 for a missing or bad token,
// 403 for another stage's token or a disconnected participant, 404 for an unknown stage.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		s.refuse(w, ErrClosed)
		return
	}
	defer s.conns.Done()
	a, err := s.admit(r)
	if err != nil {
		s.refuse(w, err)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: a.protocols,
		// Pages on any origin use the endpoint, as with IVS; the token is the credential, and a
		// page can only send one it already holds.
		InsecureSkipVerify: true,
	})
	if err != nil { // Accept has answered the client
		a.release()
		a.log.Info("events upgrade failed", "err", err)
		return
	}
	a.log.Info("events connected")
	c := &conn{
		ws:           ws,
		log:          a.log,
		stageID:      a.stageID,
		member:       a.member,
		snapshot:     a.snapshot,
		changes:      a.changes,
		stopWatch:    a.stopWatch,
		kick:         a.kick,
		pingInterval: s.pingInterval,
		pings:        make(chan struct{}),
		readDone:     make(chan struct{}),
		peerDead:     make(chan struct{}),
	}
	c.run(s.shutdown)
}

// Close closes every connection with CloseShutdown, refuses new ones with 503 and returns
// when all their goroutines have ended.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.shutdown)
	}
	s.mu.Unlock()
	s.conns.Wait()
}

// enter counts a request in, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns.Add(1)
	return true
}

// admission is a request that has joined and watches its stage, ready to upgrade.
type admission struct {
	log       *slog.Logger
	stageID   string
	protocols []string // the subprotocol to echo: the token, when it came that way
	member    Member
	snapshot  []stage.ParticipantView
	changes   <-chan stage.Change
	stopWatch func()
	kick      *kick
}

// admit verifies the request's token, joins the stage and watches it: everything that can
// still be refused with an HTTP status. A plain GET never joins.
func (s *Server) admit(r *http.Request) (*admission, error) {
	if !isUpgrade(r) {
		return nil, ErrNotWebSocket
	}
	pathStage, err := stageIDFromPath(r.URL.Path)
	if err != nil {
		return nil, err
	}
	tok, fromHeader, err := requestToken(r)
	if err != nil {
		return nil, err
	}
	claims, err := s.tokens.Verify(r.Context(), tok, time.Now()) // expiry counts at connect only
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if pathStage != "" && pathStage != claims.StageID {
		return nil, fmt.Errorf("%w: the URL names stage %s, the token %s", ErrWrongStage, pathStage, claims.StageID)
	}
	a := &admission{
		log:     s.log.With("stage_arn", claims.StageArn, "participant_id", claims.ParticipantID),
		stageID: claims.StageID,
		kick:    newKick(),
	}
	if fromHeader {
		a.protocols = []string{tok}
	}
	a.member, err = s.stages.Join(r.Context(), stage.JoinParams{
		StageArn:      claims.StageArn,
		ParticipantID: claims.ParticipantID,
		UserID:        claims.UserID,
		Attributes:    claims.Attributes,
		Publish:       claims.Publish,
		Subscribe:     claims.Subscribe,
		UserAgent:     r.UserAgent(),
		Protocol:      "", // not a media ingest
		Kick:          a.kick.kick,
	})
	if err != nil {
		return nil, fmt.Errorf("join stage %s as %s: %w", claims.StageArn, claims.ParticipantID, err)
	}
	a.snapshot, a.changes, a.stopWatch, err = s.stages.Watch(claims.StageArn)
	if err != nil {
		leave(a.member)
		return nil, fmt.Errorf("watch stage %s: %w", claims.StageArn, err)
	}
	return a, nil
}

// release undoes admit when the upgrade fails.
func (a *admission) release() {
	a.stopWatch()
	leave(a.member)
}

// refuse answers a request that was not upgraded. Errors never carry the token.
func (s *Server) refuse(w http.ResponseWriter, err error) {
	status, ok := httpStatus(err)
	msg := err.Error()
	switch {
	case !ok:
		s.log.Error("events request failed", "err", err)
		msg = "internal error"
	case status == http.StatusUpgradeRequired:
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		s.log.Debug("events refused", "status", status, "err", err)
	default:
		s.log.Info("events refused", "status", status, "err", err)
	}
	http.Error(w, msg, status)
}

// leave ends a member's stay with a fresh deadline: the request's context is gone by then.
func leave(m Member) {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	m.Leave(ctx)
}

// kick turns the stage's Kick callback, which must not block, into a channel the connection
// selects on.
type kick struct {
	once   sync.Once
	done   chan struct{} // closed by the first kick
	reason string        // written once, before done is closed
}

func newKick() *kick { return &kick{done: make(chan struct{})} }

func (k *kick) kick(reason string) {
	k.once.Do(func() {
		k.reason = reason
		close(k.done)
	})
}
