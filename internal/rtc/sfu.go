// Package rtc is Footlight's media plane: a selective forwarding unit that takes WebRTC
// publishes over WHIP and serves them to subscribers (WHEP-style), forwarding RTP packets
// without decoding them.
//
// It owns the PeerConnections, the one media port and the HTTP endpoints under /whip. It
// decides nothing about who may do what: tokens are checked by token.Verifier and every
// join, publish and subscribe is asked of the stage domain through the Stages interface.
package rtc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

// TokenVerifier checks participant tokens; *token.Verifier satisfies it.
type TokenVerifier interface {
	Verify(ctx context.Context, tok string, now time.Time) (*token.Claims, error)
}

// Stages is the stage domain as rtc uses it: one Join per connection.
type Stages interface {
	// Join admits one connection of a participant. Errors wrap stage.ErrNotFound or
	// stage.ErrRevoked.
	Join(ctx context.Context, p stage.JoinParams) (Member, error)
}

// Member is one joined connection of a participant.
type Member interface {
	// ParticipantID is the token's jti.
	ParticipantID() string
	// StartPublish errors wrap stage.ErrInsufficientCapabilities or stage.ErrPublisherLimit;
	// the domain records the PUBLISH_ERROR event itself.
	StartPublish(ctx context.Context) error
	StopPublish(ctx context.Context)
	// RefusePublish records a publish the media server refused for its media (cause wraps
	// stage.ErrInvalidVideoCodec or stage.ErrInvalidAudioCodec) as a PUBLISH_ERROR; it
	// returns the refusal, which wraps cause, or stage.ErrInsufficientCapabilities when the
	// token cannot publish at all.
	RefusePublish(ctx context.Context, cause error) error
	// StartSubscribe errors wrap stage.ErrInsufficientCapabilities or
	// stage.ErrPublisherNotFound; the domain records the SUBSCRIBE_ERROR event itself.
	StartSubscribe(ctx context.Context, publisherID string) error
	StopSubscribe(ctx context.Context, publisherID string)
	// Leave is idempotent; rtc calls it whenever the connection ends, for any reason.
	Leave(ctx context.Context)
	// SessionID is the stage session the connection joined.
	SessionID() string
}

// Recorder records publishes (participant recording); the server adapts internal/record.
type Recorder interface {
	// Record starts recording a publish; nil, nil when its stage does not record.
	Record(ctx context.Context, p RecordedPublish) (Recording, error)
}

// RecordedPublish is a publish to record: its tracks in the order Recording.Sink numbers them.
type RecordedPublish struct {
	StageArn, SessionID, ParticipantID string
	Tracks                             []RecordedTrack
}

// RecordedTrack is one published track.
type RecordedTrack struct {
	MimeType  string // as negotiated, e.g. video/H264
	ClockRate uint32
	// RequestKeyframe asks the publisher for a keyframe, throttled; it never blocks. Nil for
	// audio.
	RequestKeyframe func()
}

// Recording is a publish being recorded.
type Recording interface {
	// Sink is where track i's packets go; nil when the track is not recorded.
	Sink(i int) PacketSink
	// Close ends the publish's recording once its last packet was written.
	Close()
}

// PacketSink takes a copy of each RTP packet of a track, from the track's read loop: it must
// not block, allocate or lock.
type PacketSink interface {
	WriteRTP(pkt []byte)
}

// Config is what the SFU needs. Zero values are documented per field.
type Config struct {
	UDPPort  int    // one UDP port for all media (and ICE-TCP on the same number); 0 picks a free one
	PublicIP string // NAT 1:1 address advertised in candidates; "" advertises the host's addresses, loopback included
	Tokens   TokenVerifier
	Stages   Stages
	// StageExists returns the ARN of the stage with this id, or an error wrapping
	// stage.ErrNotFound.
	StageExists func(ctx context.Context, stageID string) (stageArn string, err error)
	Recorder    Recorder     // nil records nothing
	Logger      *slog.Logger // nil discards
	// TCPWriteTimeout is how long a write to an ICE-TCP client may make no progress before
	// its connection is dropped (a client that stopped reading); 0 means 5 s.
	TCPWriteTimeout time.Duration
}

// SFU is the media server. Its methods are safe for concurrent use.
type SFU struct {
	cfg Config
	log *slog.Logger
	eng *engine

	mu         sync.Mutex            // guards sessions, publishers, closed and draining
	sessions   map[string]*session   // live connections, by the opaque id in their Location
	publishers map[string]*publisher // the live publish of each participant, by publisherKey
	closed     bool                  // Close has begun: no new sessions
	draining   bool                  // Close has ended every session and waits for wg

	wg        sync.WaitGroup // every goroutine the SFU starts; Close waits for them
	closeOnce sync.Once
	closeErr  error // set by the first Close
}

// New binds the media port and returns a running SFU.
func New(cfg Config) (*SFU, error) {
	if cfg.Tokens == nil || cfg.Stages == nil || cfg.StageExists == nil {
		return nil, errors.New("rtc: Config needs Tokens, Stages and StageExists")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("component", "rtc")
	eng, err := newEngine(cfg, log, pionLogs{log: log})
	if err != nil {
		return nil, err
	}
	log.Info("media port bound", "udp_port", eng.port)
	return &SFU{
		cfg:        cfg,
		log:        log,
		eng:        eng,
		sessions:   map[string]*session{},
		publishers: map[string]*publisher{},
	}, nil
}

// UDPPort is the bound media port (UDP, and TCP for ICE-TCP).
func (s *SFU) UDPPort() int { return s.eng.port }

// Close ends every connection (each member leaves the stage), closes the media sockets and
// returns when all the SFU's goroutines have ended. New requests get 503 from then on.
// Later calls return the first call's result.
func (s *SFU) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		live := s.liveSessions(func(*session) bool { return true })
		s.mu.Unlock()
		endAll(live, "server shutting down")
		s.closeErr = s.eng.close()
		s.mu.Lock()
		s.draining = true
		s.mu.Unlock()
		s.wg.Wait() // every track's forwarding loop has ended
		s.closeErr = errors.Join(s.closeErr, s.eng.closeSend())
	})
	return s.closeErr
}

// KickStage closes every connection of a stage (DeleteStage).
func (s *SFU) KickStage(stageArn, reason string) {
	s.mu.Lock()
	live := s.liveSessions(func(x *session) bool { return x.stageArn == stageArn })
	s.mu.Unlock()
	for _, x := range live {
		x.kick(reason)
	}
}

// liveSessions lists the registered sessions that match; s.mu must be held.
func (s *SFU) liveSessions(match func(*session) bool) []*session {
	var out []*session
	for _, x := range s.sessions {
		if match(x) {
			out = append(out, x)
		}
	}
	return out
}

// endAll ends sessions concurrently and waits: each end waits for its PeerConnection's
// goroutines, and there is no reason to pay those waits one after another.
func endAll(list []*session, reason string) {
	var wg sync.WaitGroup
	for _, x := range list {
		wg.Go(func() { x.end(reason) }) // ends with x.end
	}
	wg.Wait()
}

// spawn runs f on a goroutine that Close waits for. f must end once the connections close.
// pion delivers some callbacks on goroutines of its own that may outlive Close; what they
// spawn then runs untracked: every connection is closed by that time, so f ends at once.
func (s *SFU) spawn(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		go f() // ends at once: its connection is closed
		return
	}
	s.wg.Go(f) // Go's Add happens under s.mu, so before Close's Wait
}

// register makes a negotiated session reachable by its Location, and a publish the
// participant's live one. It refuses once the SFU is closing.
func (s *SFU) register(x *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.sessions[x.id] = x
	if x.pub != nil {
		key := publisherKey(x.stageArn, x.participantID)
		if old := s.publishers[key]; old != nil && old != x.pub {
			old.sess.kick(stage.ReasonReplaced) // two publishes with one token raced: the last wins
		}
		s.publishers[key] = x.pub
	}
	return nil
}

// forget removes an ending session from the registries.
func (s *SFU) forget(x *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, x.id)
	key := publisherKey(x.stageArn, x.participantID)
	if x.pub != nil && s.publishers[key] == x.pub {
		delete(s.publishers, key)
	}
}

// session returns the live session with this id.
func (s *SFU) session(id string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions[id]
	if !ok {
		return nil, errSessionNotFound
	}
	return x, nil
}

// publisher returns the live publish of a participant, or nil.
func (s *SFU) publisher(stageArn, participantID string) *publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishers[publisherKey(stageArn, participantID)]
}

func publisherKey(stageArn, participantID string) string { return stageArn + "|" + participantID }
