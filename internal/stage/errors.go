package stage

import "errors"

var (
	// ErrNotFound: the stage (or the resource an operation names) does not exist.
	ErrNotFound = errors.New("stage not found")
	// ErrInvalid: input that passed the wire model but breaks a domain rule (e.g. an ARN of
	// another region or account).
	ErrInvalid = errors.New("invalid input")
)

var (
	// ErrRevoked: DisconnectParticipant revoked this participant; its token is refused for good.
	ErrRevoked = errors.New("participant was disconnected and may not rejoin")
	// ErrPublisherLimit: the stage already has as many publishers as allowed (12 on IVS).
	ErrPublisherLimit = errors.New("stage publisher limit reached")
	// ErrInsufficientCapabilities: the token does not grant the action (publish or subscribe).
	ErrInsufficientCapabilities = errors.New("token lacks the capability")
	// ErrPublisherNotFound: the participant to subscribe to is not publishing.
	ErrPublisherNotFound = errors.New("publisher not found")
	// ErrInvalidVideoCodec: the media server found no video codec it takes in the publish
	// (IVS: not H.264; Footlight also takes VP8).
	ErrInvalidVideoCodec = errors.New("no acceptable video codec")
	// ErrInvalidAudioCodec: the media server found no audio codec it takes in the publish
	// (IVS over WHIP: not Opus).
	ErrInvalidAudioCodec = errors.New("no acceptable audio codec")
	// ErrLeft: the connection has already left the stage.
	ErrLeft = errors.New("connection has left the stage")
)
