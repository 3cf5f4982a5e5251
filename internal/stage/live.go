package stage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

// Participant states and event names as the API reports them (SPEC §6 Event, Participant).
const (
	stateConnected    = "CONNECTED"
	stateDisconnected = "DISCONNECTED"

	eventJoined           = "JOINED"
	eventLeft             = "LEFT"
	eventPublishStarted   = "PUBLISH_STARTED"
	eventPublishStopped   = "PUBLISH_STOPPED"
	eventSubscribeStarted = "SUBSCRIBE_STARTED"
	eventSubscribeStopped = "SUBSCRIBE_STOPPED"
	eventPublishError     = "PUBLISH_ERROR"
	eventSubscribeError   = "SUBSCRIBE_ERROR"

	codeInsufficientCapabilities = "INSUFFICIENT_CAPABILITIES"
	codeQuotaExceeded            = "QUOTA_EXCEEDED"
	codePublisherNotFound        = "PUBLISHER_NOT_FOUND"
	codeInvalidVideoCodec        = "INVALID_VIDEO_CODEC"
	codeInvalidAudioCodec        = "INVALID_AUDIO_CODEC"
)

// mediaRefusals are the PUBLISH_ERROR codes of refusals the media server decides
// (IVS-BEHAVIOUR §3), by the error it reports them with.
var mediaRefusals = []struct {
	err  error
	code string
}{
	{ErrInvalidVideoCodec, codeInvalidVideoCodec},
	{ErrInvalidAudioCodec, codeInvalidAudioCodec},
}

// watcherBuffer bounds how far a watcher may fall behind before it is dropped.
const watcherBuffer = 256

// live is the run-time state of every stage with a session.
type live struct {
	mu      sync.Mutex            // guards everything below and in the structs they reach
	stages  map[string]*liveStage // by stage ARN
	revoked map[string]bool       // "<stage ARN>/<participant id>" revoked during this run
}

type liveStage struct {
	arn          string
	session      *store.StageSession // nil while idle
	idle         *time.Timer         // ends the session a grace period after the last leave
	participants map[string]*liveParticipant
	watchers     map[*watcher]struct{}
}

type liveParticipant struct {
	rec        store.Participant
	conns      map[*Conn]struct{}
	publishers int // connections currently publishing
}

type watcher struct{ ch chan Change }

// Conn is one live connection of a participant (a publish or subscribe PeerConnection, an
// events websocket). Its owner calls Leave when it ends.
type Conn struct {
	s          *Service
	st         *liveStage
	p          *liveParticipant
	params     JoinParams
	publishing bool
	subs       map[string]bool // publisher ids this connection subscribes to
	left       bool
	kickReason string
}

// ParticipantID is the participant (the token's jti) this connection belongs to.
func (c *Conn) ParticipantID() string { return c.params.ParticipantID }

// SessionID is the stage session the connection joined.
func (c *Conn) SessionID() string { return c.p.rec.SessionID }

// Join registers a connection. The first connection of a participant makes it CONNECTED
// (JOINED); the first participant of an idle stage starts a session.
func (s *Service) Join(ctx context.Context, p JoinParams) (*Conn, error) {
	if _, err := s.cfg.Store.Stages().Get(ctx, p.StageArn); err != nil {
		return nil, fmt.Errorf("join %s: %w: %w", p.StageArn, ErrNotFound, err)
	}
	revoked, err := s.cfg.Store.Revoked(ctx, p.StageArn, p.ParticipantID)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", p.StageArn, err)
	}
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if revoked || s.live.revoked[p.StageArn+"/"+p.ParticipantID] {
		return nil, fmt.Errorf("join %s as %s: %w", p.StageArn, p.ParticipantID, ErrRevoked)
	}
	st := s.stageLocked(p.StageArn, now)
	lp := st.participants[p.ParticipantID]
	if lp == nil {
		lp = &liveParticipant{rec: s.newParticipant(st, p, now), conns: map[*Conn]struct{}{}}
		st.participants[p.ParticipantID] = lp
	}
	if lp.rec.Protocol == "UNKNOWN" && p.Protocol != "" {
		lp.rec.Protocol = p.Protocol // an events connection came first; the media one tells
		s.saveLocked(lp)
	}
	c := &Conn{s: s, st: st, p: lp, params: p, subs: map[string]bool{}}
	if len(lp.conns) == 0 {
		lp.rec.State = stateConnected
		s.eventLocked(lp, eventJoined, "", "", now)
		s.saveLocked(lp)
		s.notifyLocked(st, Change{Type: ChangeJoined, Participant: lp.view(), Time: now})
	}
	lp.conns[c] = struct{}{}
	return c, nil
}

// stageLocked returns the live stage, starting a session when it is idle.
func (s *Service) stageLocked(stageArn string, now time.Time) *liveStage {
	st := s.live.stages[stageArn]
	if st == nil {
		st = &liveStage{arn: stageArn, participants: map[string]*liveParticipant{}, watchers: map[*watcher]struct{}{}}
		s.live.stages[stageArn] = st
	}
	if st.idle != nil {
		st.idle.Stop()
		st.idle = nil
	}
	if st.session == nil {
		st.session = &store.StageSession{SessionID: arn.NewSessionID(), StageArn: stageArn, StartTime: now}
		st.participants = map[string]*liveParticipant{}
		sess := *st.session
		s.journal.add(store.LiveWrite{Session: &sess})
	}
	return st
}

func (s *Service) newParticipant(st *liveStage, p JoinParams, now time.Time) store.Participant {
	ua := parseUserAgent(p.UserAgent)
	protocol := p.Protocol
	if protocol == "" {
		protocol = "UNKNOWN"
	}
	return store.Participant{
		ParticipantID: p.ParticipantID, StageArn: st.arn, SessionID: st.session.SessionID,
		UserID: p.UserID, FirstJoinTime: now, Attributes: nonNil(p.Attributes),
		OSName: ua.osName, OSVersion: ua.osVersion, BrowserName: ua.browserName, BrowserVersion: ua.browserVersion,
		Protocol: protocol, RecordingState: "DISABLED",
	}
}

// StartPublish marks the connection as publishing. Refusals are recorded as PUBLISH_ERROR.
func (c *Conn) StartPublish(ctx context.Context) error {
	s := c.s
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	switch {
	case c.left:
		return ErrLeft
	case c.publishing:
		return nil
	case !c.params.Publish:
		s.eventLocked(c.p, eventPublishError, "", codeInsufficientCapabilities, now)
		return fmt.Errorf("publish as %s: %w", c.params.ParticipantID, ErrInsufficientCapabilities)
	case c.p.publishers == 0 && c.st.publisherCount() >= s.cfg.MaxPublishers:
		s.eventLocked(c.p, eventPublishError, "", codeQuotaExceeded, now)
		return fmt.Errorf("publish as %s: %d publishers: %w", c.params.ParticipantID, s.cfg.MaxPublishers, ErrPublisherLimit)
	}
	c.publishing = true
	c.p.publishers++
	if c.p.publishers == 1 {
		c.p.rec.Published = true
		s.eventLocked(c.p, eventPublishStarted, "", "", now)
		s.saveLocked(c.p)
		s.notifyLocked(c.st, Change{Type: ChangePublishStarted, Participant: c.p.view(), Time: now})
	}
	return nil
}

// RefusePublish records that the media server refused this connection's publish for a
// reason of the media itself: cause wraps ErrInvalidVideoCodec or ErrInvalidAudioCodec, and
// becomes a PUBLISH_ERROR with its code. A token without PUBLISH is refused for that first,
// as StartPublish would refuse it. It returns the refusal, which wraps cause or
// ErrInsufficientCapabilities; a cause of another kind is returned as it is, recorded as
// nothing.
func (c *Conn) RefusePublish(ctx context.Context, cause error) error {
	s := c.s
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	switch {
	case c.left:
		return ErrLeft
	case !c.params.Publish:
		s.eventLocked(c.p, eventPublishError, "", codeInsufficientCapabilities, now)
		return fmt.Errorf("publish as %s: %w", c.params.ParticipantID, ErrInsufficientCapabilities)
	}
	for _, r := range mediaRefusals {
		if errors.Is(cause, r.err) {
			s.eventLocked(c.p, eventPublishError, "", r.code, now)
			break
		}
	}
	return fmt.Errorf("publish as %s: %w", c.params.ParticipantID, cause)
}

func (st *liveStage) publisherCount() int {
	n := 0
	for _, p := range st.participants {
		if p.publishers > 0 {
			n++
		}
	}
	return n
}

// StopPublish ends the connection's publishing.
func (c *Conn) StopPublish(ctx context.Context) {
	c.s.live.mu.Lock()
	defer c.s.live.mu.Unlock()
	c.stopPublishLocked(c.s.cfg.Now().UTC())
}

func (c *Conn) stopPublishLocked(now time.Time) {
	if !c.publishing {
		return
	}
	c.publishing = false
	c.p.publishers--
	if c.p.publishers == 0 {
		c.s.eventLocked(c.p, eventPublishStopped, "", "", now)
		c.s.notifyLocked(c.st, Change{Type: ChangePublishStopped, Participant: c.p.view(), Time: now})
	}
}

// StartSubscribe records that the connection watches publisherID. Refusals are recorded as
// SUBSCRIBE_ERROR.
func (c *Conn) StartSubscribe(ctx context.Context, publisherID string) error {
	s := c.s
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	switch {
	case c.left:
		return ErrLeft
	case !c.params.Subscribe:
		s.eventLocked(c.p, eventSubscribeError, publisherID, codeInsufficientCapabilities, now)
		return fmt.Errorf("subscribe to %s: %w", publisherID, ErrInsufficientCapabilities)
	}
	if pub := c.st.participants[publisherID]; pub == nil || pub.publishers == 0 {
		s.eventLocked(c.p, eventSubscribeError, publisherID, codePublisherNotFound, now)
		return fmt.Errorf("subscribe to %s: %w", publisherID, ErrPublisherNotFound)
	}
	if !c.subs[publisherID] {
		c.subs[publisherID] = true
		s.eventLocked(c.p, eventSubscribeStarted, publisherID, "", now)
	}
	return nil
}

// StopSubscribe ends a subscription.
func (c *Conn) StopSubscribe(ctx context.Context, publisherID string) {
	c.s.live.mu.Lock()
	defer c.s.live.mu.Unlock()
	c.stopSubscribeLocked(publisherID, c.s.cfg.Now().UTC())
}

func (c *Conn) stopSubscribeLocked(publisherID string, now time.Time) {
	if c.subs[publisherID] {
		delete(c.subs, publisherID)
		c.s.eventLocked(c.p, eventSubscribeStopped, publisherID, "", now)
	}
}

// Leave ends the connection; the participant's last connection makes it DISCONNECTED (LEFT),
// and the stage's last participant starts the session's grace period. Idempotent.
func (c *Conn) Leave(ctx context.Context) {
	s := c.s
	now := s.cfg.Now().UTC()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if c.left {
		return
	}
	c.left = true
	c.stopPublishLocked(now)
	subs := make([]string, 0, len(c.subs))
	for id := range c.subs {
		subs = append(subs, id)
	}
	sort.Strings(subs)
	for _, id := range subs {
		c.stopSubscribeLocked(id, now)
	}
	delete(c.p.conns, c)
	if len(c.p.conns) > 0 {
		return
	}
	c.p.rec.State = stateDisconnected
	s.eventLocked(c.p, eventLeft, "", "", now)
	s.saveLocked(c.p)
	s.notifyLocked(c.st, Change{Type: ChangeLeft, Participant: c.p.view(), Reason: c.kickReason, Time: now})
	if c.st.connectedCount() == 0 && c.st.session != nil {
		s.scheduleEndLocked(c.st)
	}
}

func (st *liveStage) connectedCount() int {
	n := 0
	for _, p := range st.participants {
		if len(p.conns) > 0 {
			n++
		}
	}
	return n
}

// scheduleEndLocked ends the session a grace period from now unless someone joins first.
func (s *Service) scheduleEndLocked(st *liveStage) {
	session := st.session
	st.idle = time.AfterFunc(s.cfg.SessionGracePeriod, func() {
		s.live.mu.Lock()
		defer s.live.mu.Unlock()
		if st.session == session && st.connectedCount() == 0 {
			s.endSessionLocked(st, s.cfg.Now().UTC())
		}
	})
}

func (s *Service) endSessionLocked(st *liveStage, now time.Time) {
	if st.idle != nil {
		st.idle.Stop()
		st.idle = nil
	}
	if st.session == nil {
		return
	}
	ended := *st.session
	ended.EndTime = &now
	s.journal.add(store.LiveWrite{Session: &ended})
	st.session = nil
	if len(st.watchers) == 0 {
		delete(s.live.stages, st.arn)
	}
}

func (s *Service) eventLocked(p *liveParticipant, name, remote, code string, now time.Time) {
	s.journal.add(store.LiveWrite{Event: &store.ParticipantEvent{
		StageArn: p.rec.StageArn, SessionID: p.rec.SessionID, ParticipantID: p.rec.ParticipantID,
		Name: name, EventTime: now, RemoteParticipantID: remote, ErrorCode: code,
	}})
}

// saveLocked queues a copy of the participant's record; the copy shares Attributes, which
// are never mutated after join.
func (s *Service) saveLocked(p *liveParticipant) {
	rec := p.rec
	s.journal.add(store.LiveWrite{Participant: &rec})
}

// notifyLocked sends a change to every watcher; a watcher whose buffer is full is dropped
// (its channel closed) rather than waited on.
func (s *Service) notifyLocked(st *liveStage, ch Change) {
	ch.Participant.Attributes = nonNil(ch.Participant.Attributes)
	for w := range st.watchers {
		select {
		case w.ch <- ch:
		default:
			close(w.ch)
			delete(st.watchers, w)
		}
	}
}

func (p *liveParticipant) view() ParticipantView {
	return ParticipantView{ID: p.rec.ParticipantID, UserID: p.rec.UserID, Attributes: p.rec.Attributes, IsPublishing: p.publishers > 0}
}

// Watch returns the participants connected now and, in order, every change after that. stop
// ends the watch. The channel closes if the watcher falls watcherBuffer changes behind or the
// stage is deleted (after a ChangeStageDeleted).
func (s *Service) Watch(stageArn string) ([]ParticipantView, <-chan Change, func(), error) {
	if _, err := s.cfg.Store.Stages().Get(context.Background(), stageArn); err != nil {
		return nil, nil, nil, fmt.Errorf("watch %s: %w: %w", stageArn, ErrNotFound, err)
	}
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	st := s.live.stages[stageArn]
	if st == nil {
		st = &liveStage{arn: stageArn, participants: map[string]*liveParticipant{}, watchers: map[*watcher]struct{}{}}
		s.live.stages[stageArn] = st
	}
	snapshot := []ParticipantView{}
	ids := make([]string, 0, len(st.participants))
	for id, p := range st.participants {
		if len(p.conns) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		snapshot = append(snapshot, st.participants[id].view())
	}
	w := &watcher{ch: make(chan Change, watcherBuffer)}
	st.watchers[w] = struct{}{}
	stop := func() {
		s.live.mu.Lock()
		defer s.live.mu.Unlock()
		if _, ok := st.watchers[w]; ok {
			delete(st.watchers, w)
			close(w.ch)
		}
		if len(st.watchers) == 0 && st.session == nil && s.live.stages[stageArn] == st {
			delete(s.live.stages, stageArn)
		}
	}
	return snapshot, w.ch, stop, nil
}

// ActiveSessionID returns the stage's running session id, or "" when the stage is idle, as
// IVS reports it (IVS-BEHAVIOUR §4).
func (s *Service) ActiveSessionID(stageArn string) string {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if st := s.live.stages[stageArn]; st != nil && st.session != nil {
		return st.session.SessionID
	}
	return ""
}

// kickLocked marks the stage's connections of participantID (all of them when "") as kicked
// and returns their Kick functions, to be called after the lock is released.
func (s *Service) kickLocked(st *liveStage, participantID, reason string) []func() {
	var kicks []func()
	for id, p := range st.participants {
		if participantID != "" && id != participantID {
			continue
		}
		for c := range p.conns {
			c.kickReason = reason
			if k := c.params.Kick; k != nil {
				kicks = append(kicks, func() { k(reason) })
			}
		}
	}
	return kicks
}
