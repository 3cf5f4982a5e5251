package rtc

import (
	"errors"
	"net/http"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

// Errors of the media endpoints. Handlers wrap them with %w; statusOf turns them into HTTP
// statuses, so no handler picks a status itself.
var (
	// errNoToken: the request has no "Authorization: Bearer" header.
	errNoToken = errors.New("missing bearer token")
	// errWrongStage: the token is for another stage than the URL names.
	errWrongStage = errors.New("token is for another stage")
	// errWrongParticipant: a /publish/<id> URL whose id is not the token's jti.
	errWrongParticipant = errors.New("participant id in the URL is not the token's")
	// errNotOwner: a PATCH or DELETE carrying another participant's token than the session's.
	errNotOwner = errors.New("token does not own this session")
	// errSessionNotFound: no live session has the id in the URL.
	errSessionNotFound = errors.New("session not found")
	// errContentType: the body is not of the media type the method needs.
	errContentType = errors.New("unsupported content type")
	// errBadOffer: the SDP offer cannot be parsed or applied.
	errBadOffer = errors.New("unusable SDP offer")
	// errNoCodec: the offer has no codec Footlight forwards (H.264, VP8, Opus).
	errNoCodec = errors.New("no supported codec")
	// errBadFrag: the trickle-ice-sdpfrag body cannot be parsed or applied.
	errBadFrag = errors.New("unusable SDP fragment")
	// errETag: If-Match names another entity than the session's (RFC 9725 §4.3.1).
	errETag = errors.New("If-Match does not match the session's ETag")
	// errICERestart: the fragment asks for an ICE restart, which sessions do not support
	// (RFC 9725 §4.3.2: a session that supports trickle but not restarts answers 422).
	errICERestart = errors.New("ICE restarts are not supported")
	// errEnded: the session ended (kicked or closed) while the request was being served.
	errEnded = errors.New("connection ended")
	// errClosed: the SFU is shutting down.
	errClosed = errors.New("media server is shutting down")
)

// refusal is one row of the error table: what a sentinel means to a client.
type refusal struct {
	err    error
	status int
	reason string // the body; "" sends the error's own text (our own errors only)
}

// refusals is checked in order with errors.Is; the first match wins.
var refusals = []refusal{
	{errNoToken, http.StatusUnauthorized, "missing bearer token"},
	{token.ErrExpired, http.StatusUnauthorized, "token expired"},
	{token.ErrSignature, http.StatusUnauthorized, "token signature does not verify"},
	{token.ErrUnknownKey, http.StatusUnauthorized, "token signed by an unknown key"},
	{token.ErrMalformed, http.StatusUnauthorized, "malformed token"},
	{token.ErrAlgorithm, http.StatusUnauthorized, "malformed token"},
	{token.ErrLifetime, http.StatusUnauthorized, "malformed token"},
	{token.ErrKeyType, http.StatusUnauthorized, "token signed by an unusable key"},
	{errWrongStage, http.StatusForbidden, "token is for another stage"},
	{errWrongParticipant, http.StatusForbidden, "participant id does not match the token"},
	{errNotOwner, http.StatusForbidden, "token does not own this session"},
	{stage.ErrInsufficientCapabilities, http.StatusForbidden, "token lacks the capability"},
	{stage.ErrRevoked, http.StatusForbidden, "participant was disconnected"},
	{stage.ErrPublisherLimit, http.StatusForbidden, "stage publisher limit reached"},
	{stage.ErrNotFound, http.StatusNotFound, "stage not found"},
	{stage.ErrPublisherNotFound, http.StatusNotFound, "participant is not publishing"},
	{errSessionNotFound, http.StatusNotFound, "session not found"},
	{stage.ErrLeft, http.StatusNotFound, "connection ended"},
	{errEnded, http.StatusNotFound, "connection ended"},
	{errContentType, http.StatusUnsupportedMediaType, ""},
	{errBadOffer, http.StatusBadRequest, ""},
	{errNoCodec, http.StatusBadRequest, ""},
	{errBadFrag, http.StatusBadRequest, ""},
	{errETag, http.StatusPreconditionFailed, "If-Match does not match"},
	{errICERestart, http.StatusUnprocessableEntity, "ICE restarts are not supported"},
	{errClosed, http.StatusServiceUnavailable, "media server is shutting down"},
}

// statusOf maps an error to the HTTP status and the short plain-text reason the client gets.
// Anything unknown is a 500 with a fixed reason; the caller logs the real error.
func statusOf(err error) (int, string) {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			if r.reason == "" {
				return r.status, err.Error()
			}
			return r.status, r.reason
		}
	}
	return http.StatusInternalServerError, "internal error"
}
