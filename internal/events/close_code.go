package events

import (
	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/stage"
)

// Close codes the server sends, with the reason text it puts beside each (docs/EVENTS.md).
// 4000–4999 are for applications (RFC 6455 §7.4.2); 4000 + n mirrors the IVS web SDK's
// StageErrorCode n where one exists (IVS-BEHAVIOUR §6: 9 STAGE_DELETED, 10
// PARTICIPANT_DISCONNECTED).
const (
	// CloseKicked: the server ended the connection for a reason without a code of its own;
	// the close reason names it.
	CloseKicked websocket.StatusCode = 4000
	// CloseLagged (reason ReasonLagged): the connection fell too far behind the stage's
	// changes; reconnect for a fresh STAGE_STATE.
	CloseLagged websocket.StatusCode = 4001
	// CloseStageDeleted (reason stage.ReasonStageDeleted): DeleteStage.
	CloseStageDeleted websocket.StatusCode = 4009
	// CloseDisconnected (reason stage.ReasonDisconnected): DisconnectParticipant. The token is
	// refused from now on.
	CloseDisconnected websocket.StatusCode = 4010
	// CloseReplaced (reason stage.ReasonReplaced): a newer connection with the same token.
	CloseReplaced websocket.StatusCode = 4011
	// CloseShutdown (reason ReasonShutdown) is the standard "going away": the server stops.
	CloseShutdown = websocket.StatusGoingAway
)

// Close reasons of Footlight's own; the others are the stage's Kick reasons.
const (
	ReasonLagged   = "EVENTS_LAGGED"
	ReasonShutdown = "SERVER_SHUTTING_DOWN"
)

// kickCode is the close code for a stage Kick reason.
func kickCode(reason string) websocket.StatusCode {
	switch reason {
	case stage.ReasonStageDeleted:
		return CloseStageDeleted
	case stage.ReasonDisconnected:
		return CloseDisconnected
	case stage.ReasonReplaced:
		return CloseReplaced
	}
	return CloseKicked
}
