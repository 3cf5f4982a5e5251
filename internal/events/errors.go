package events

import (
	"errors"
	"net/http"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

var (
	// ErrNoToken: the request carries no token, neither as a subprotocol nor as ?token=.
	ErrNoToken = errors.New("events: no participant token")
	// ErrWrongStage: the URL names a stage other than the token's topic.
	ErrWrongStage = errors.New("events: token is for another stage")
	// ErrBadPath: the URL has more than one segment after the events path.
	ErrBadPath = errors.New("events: no such path")
	// ErrNotWebSocket: the request is not a WebSocket upgrade.
	ErrNotWebSocket = errors.New("events: not a WebSocket upgrade request")
	// ErrClosed: the server is shutting down and accepts no new connections.
	ErrClosed = errors.New("events: server closed")
)

// httpStatus is the one place that turns a refusal before the upgrade into a plain HTTP
// status; ok is false for an unexpected error, which the caller logs and answers with a fixed
// message.
func httpStatus(err error) (status int, ok bool) {
	switch {
	case errors.Is(err, ErrNoToken),
		errors.Is(err, token.ErrMalformed),
		errors.Is(err, token.ErrSignature),
		errors.Is(err, token.ErrAlgorithm),
		errors.Is(err, token.ErrExpired),
		errors.Is(err, token.ErrUnknownKey),
		errors.Is(err, token.ErrLifetime),
		errors.Is(err, token.ErrKeyType):
		return http.StatusUnauthorized, true
	case errors.Is(err, ErrWrongStage),
		errors.Is(err, stage.ErrRevoked),
		errors.Is(err, stage.ErrInsufficientCapabilities),
		errors.Is(err, stage.ErrPublisherLimit):
		return http.StatusForbidden, true
	case errors.Is(err, stage.ErrNotFound), errors.Is(err, ErrBadPath):
		return http.StatusNotFound, true
	case errors.Is(err, ErrNotWebSocket):
		return http.StatusUpgradeRequired, true
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, true
	}
	return http.StatusInternalServerError, false
}
