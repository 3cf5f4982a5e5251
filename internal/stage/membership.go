package stage

import "time"

// JoinParams describes one connection of a participant joining a stage, from its verified token.
type JoinParams struct {
	StageArn      string
	ParticipantID string // the token's jti
	UserID        string
	Attributes    map[string]string
	Publish       bool   // the token grants PUBLISH
	Subscribe     bool   // the token grants SUBSCRIBE
	UserAgent     string // the client's User-Agent, for browser and OS facts
	Protocol      string // "WHIP" for WebRTC connections (Participant.protocol)
	// Kick is called once, from any goroutine, when the server ends this connection:
	// DisconnectParticipant, DeleteStage, or a newer connection replacing it. The connection
	// owner closes its transport and then calls Conn.Leave. Kick must not block.
	Kick func(reason string)
}

// Kick reasons, as the IVS web SDK names why a participant left (IVS-BEHAVIOUR §4, §6).
const (
	ReasonDisconnected = "PARTICIPANT_DISCONNECTED" // DisconnectParticipant
	ReasonStageDeleted = "STAGE_DELETED"
	ReasonReplaced     = "TOKEN_REUSED" // a newer publish with the same token
)

// ParticipantView is what other participants see of one participant (events STAGE_STATE).
type ParticipantView struct {
	ID           string            `json:"id"`
	UserID       string            `json:"userId"`
	Attributes   map[string]string `json:"attributes"`
	IsPublishing bool              `json:"isPublishing"`
}

// Change is one event of a stage's live state, sent to watchers in order.
type Change struct {
	Type        string          // one of the Change* constants
	Participant ParticipantView // the participant it concerns, after the change
	Reason      string          // for ChangeLeft after a kick: the Kick reason
	Time        time.Time
}

// Change types, also the events websocket's message types (docs/EVENTS.md).
const (
	ChangeJoined         = "PARTICIPANT_JOINED"
	ChangeLeft           = "PARTICIPANT_LEFT"
	ChangePublishStarted = "PARTICIPANT_PUBLISH_STARTED"
	ChangePublishStopped = "PARTICIPANT_PUBLISH_STOPPED"
	ChangeStageDeleted   = "STAGE_DELETED"
)

// DefaultMaxPublishers is IVS's limit of publishers per stage (IVS-BEHAVIOUR §5).
const DefaultMaxPublishers = 12
