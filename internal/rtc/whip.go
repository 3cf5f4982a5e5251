package rtc

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/footlight/footlight/internal/token"
	"github.com/pion/sdp/v3"
)

const (
	// maxBody bounds offers and fragments; real offers are a few kilobytes.
	maxBody = 64 << 10
	// negotiateTimeout bounds the work of one POST once the offer is read.
	negotiateTimeout = 10 * time.Second
)

// Handler serves every path under /whip (DESIGN.md "Media endpoints"). Mount it at "/whip"
// and "/whip/" without stripping the prefix.
//
//	POST   /whip                                   publish; the stage is the token's topic
//	POST   /whip/{stage}                           publish (WHIP, RFC 9725)
//	POST   /whip/{stage}/publish/{participant}     publish, the IVS web SDK's form
//	POST   /whip/{stage}/subscribe/{participant}   subscribe (WHEP-style)
//	PATCH  /whip/{stage}/session/{id}              trickled candidates
//	DELETE /whip/{stage}/session/{id}              leave
//	OPTIONS any                                    CORS preflight
func (s *SFU) Handler() http.Handler {
	mux := http.NewServeMux()
	publish := s.serve(s.postPublish)
	mux.Handle("POST /whip", publish)
	mux.Handle("POST /whip/{$}", publish)
	mux.Handle("POST /whip/{stage}", publish)
	mux.Handle("POST /whip/{stage}/publish/{participant}", publish)
	mux.Handle("POST /whip/{stage}/subscribe/{participant}", s.serve(s.postSubscribe))
	mux.Handle("PATCH /whip/{stage}/session/{session}", s.serve(s.patchSession))
	mux.Handle("DELETE /whip/{stage}/session/{session}", s.serve(s.deleteSession))
	return withCORS(mux)
}

// serve adapts a handler that returns an error; refuse is the only place errors become
// responses. A panic becomes a 500 with its stack logged, and the connection stays usable.
func (s *SFU) serve(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("media request panicked", "op", r.Method, "panic", p, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		if err := h(w, r); err != nil {
			s.refuse(w, r, err)
		}
	})
}

// refuse answers with the status statusOf picks and a short plain-text reason.
func (s *SFU) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status, reason := statusOf(err)
	if status >= 500 {
		s.log.Error("media request failed", "op", r.Method, "status", status, "err", err)
	} else {
		s.log.Debug("media request refused", "op", r.Method, "status", status, "err", err)
	}
	http.Error(w, reason, status)
}

// postPublish serves POST /whip, /whip/{stage} and /whip/{stage}/publish/{participant}.
func (s *SFU) postPublish(w http.ResponseWriter, r *http.Request) error {
	claims, err := s.authenticate(r, time.Now())
	if err != nil {
		return err
	}
	stageID := r.PathValue("stage")
	if stageID == "" {
		stageID = claims.StageID // IVS's global WHIP host finds the stage from the token
	}
	if id := r.PathValue("participant"); id != "" && id != claims.ParticipantID {
		return errWrongParticipant
	}
	x, offer, parsed, err := s.admit(r, claims, stageID, "publish")
	if err != nil {
		return err
	}
	x.pub = &publisher{sess: x}
	return s.answer(w, r, x, offer, parsed, s.publish)
}

// postSubscribe serves POST /whip/{stage}/subscribe/{participant}.
func (s *SFU) postSubscribe(w http.ResponseWriter, r *http.Request) error {
	claims, err := s.authenticate(r, time.Now())
	if err != nil {
		return err
	}
	x, offer, parsed, err := s.admit(r, claims, r.PathValue("stage"), "subscribe")
	if err != nil {
		return err
	}
	x.sub = &subscriber{sess: x, target: r.PathValue("participant"), done: make(chan struct{})}
	return s.answer(w, r, x, offer, parsed, s.subscribe)
}

// admit checks that the token is for this existing stage, reads the offer and starts a session.
func (s *SFU) admit(r *http.Request, c *token.Claims, stageID, op string) (*session, string, *sdp.SessionDescription, error) {
	if stageID != c.StageID {
		return nil, "", nil, errWrongStage
	}
	arn, err := s.cfg.StageExists(r.Context(), stageID)
	if err != nil {
		return nil, "", nil, fmt.Errorf("find stage %s: %w", stageID, err)
	}
	if arn != c.StageArn { // same id, another account or region
		return nil, "", nil, errWrongStage
	}
	offer, parsed, err := readOffer(r)
	if err != nil {
		return nil, "", nil, err
	}
	x := s.newSession(c, stageID, arn, op)
	x.remoteUfrag, x.mids = iceUfrag(parsed), mids(parsed)
	return x, offer, parsed, nil
}

// negotiation is publish or subscribe: join, negotiate, and return the answer.
type negotiation func(ctx context.Context, x *session, userAgent, offer string, parsed *sdp.SessionDescription) (string, error)

// answer runs the negotiation, registers the session and replies 201 (RFC 9725 §4.2). Any
// failure ends the session, which leaves the stage.
func (s *SFU) answer(w http.ResponseWriter, r *http.Request, x *session, offer string, parsed *sdp.SessionDescription, n negotiation) (err error) {
	x.startDeadline()
	registered := false
	defer func() { // also on panic
		if !registered {
			x.end("refused")
		}
	}()
	ctx, cancel := context.WithTimeout(r.Context(), negotiateTimeout)
	defer cancel()
	sdpAnswer, err := n(ctx, x, r.UserAgent(), offer, parsed)
	if err != nil {
		return err
	}
	if err := s.register(x); err != nil {
		return err
	}
	registered = true
	x.log.Info("connection accepted")
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", x.location())
	h.Set("ETag", x.etag)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sdpAnswer)
	return nil
}

// patchSession serves PATCH <Location>: trickled candidates (RFC 9725 §4.3.1).
func (s *SFU) patchSession(w http.ResponseWriter, r *http.Request) error {
	x, err := s.owned(r)
	if err != nil {
		return err
	}
	if err := needType(r, "application/trickle-ice-sdpfrag"); err != nil {
		return err
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != x.etag {
		return errETag
	}
	body, err := readBody(r, errBadFrag)
	if err != nil {
		return err
	}
	frag, err := parseSDPFrag(body)
	if err != nil {
		return err
	}
	if err := x.trickle(frag); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteSession serves DELETE <Location>: the client leaves (RFC 9725 §4.2).
func (s *SFU) deleteSession(w http.ResponseWriter, r *http.Request) error {
	x, err := s.owned(r)
	if err != nil {
		return err
	}
	x.end("client deleted the session")
	w.WriteHeader(http.StatusOK)
	return nil
}

// owned finds the session a PATCH or DELETE names and checks the request carries a token of
// the same participant. The token is judged as of the session's start: a live connection
// outlives its token's exp (DESIGN.md), and so does the right to end it.
func (s *SFU) owned(r *http.Request) (*session, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	x, err := s.session(r.PathValue("session"))
	if err != nil {
		return nil, err
	}
	if x.stageID != r.PathValue("stage") {
		return nil, errSessionNotFound
	}
	c, err := s.cfg.Tokens.Verify(r.Context(), tok, x.created)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if c.ParticipantID != x.participantID || c.StageArn != x.stageArn {
		return nil, errNotOwner
	}
	return x, nil
}

// authenticate verifies the request's bearer token at the given time.
func (s *SFU) authenticate(r *http.Request, at time.Time) (*token.Claims, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Tokens.Verify(r.Context(), tok, at)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return c, nil
}

// bearer returns the token of an "Authorization: Bearer" header (RFC 6750 §2.1).
func bearer(r *http.Request) (string, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", errNoToken
	}
	return tok, nil
}

// readOffer reads and parses an application/sdp offer.
func readOffer(r *http.Request) (string, *sdp.SessionDescription, error) {
	if err := needType(r, "application/sdp"); err != nil {
		return "", nil, err
	}
	body, err := readBody(r, errBadOffer)
	if err != nil {
		return "", nil, err
	}
	parsed := &sdp.SessionDescription{}
	if err := parsed.UnmarshalString(body); err != nil {
		return "", nil, fmt.Errorf("%w: %w", errBadOffer, err)
	}
	return body, parsed, nil
}

// needType checks the request's media type.
func needType(r *http.Request, want string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return fmt.Errorf("%w: want %s", errContentType, want)
	}
	return nil
}

// readBody reads at most maxBody bytes; failures wrap kind.
func readBody(r *http.Request, kind error) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("%w: read body: %w", kind, err)
	}
	if len(b) > maxBody {
		return "", fmt.Errorf("%w: body over %d bytes", kind, maxBody)
	}
	return string(b), nil
}
