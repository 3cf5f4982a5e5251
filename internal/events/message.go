package events

import (
	"encoding/json"
	"time"

	"github.com/footlight/footlight/internal/stage"
)

// Message types. The server sends STAGE_STATE first, then one stage.Change* type per change,
// and PONG for each client PING (docs/EVENTS.md).
const (
	TypeStageState = "STAGE_STATE"
	TypePing       = "PING"
	TypePong       = "PONG"
)

// timeLayout is RFC 3339 in UTC with milliseconds, fixed width, as AWS writes timestamps.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// pongMessage is the whole answer to a PING.
var pongMessage = []byte(`{"type":"` + TypePong + `"}`)

type stageStateMessage struct {
	Type    string     `json:"type"`
	Payload stageState `json:"payload"`
}

type stageState struct {
	StageID      string                  `json:"stageId"`
	Participants []stage.ParticipantView `json:"participants"`
}

type changeMessage struct {
	Type    string        `json:"type"`
	Payload changePayload `json:"payload"`
}

type changePayload struct {
	StageID     string                 `json:"stageId"`
	Participant *stage.ParticipantView `json:"participant,omitempty"` // absent for STAGE_DELETED
	Reason      string                 `json:"reason,omitempty"`
	Time        string                 `json:"time"`
}

// clientMessage is the part of a client message the server reads.
type clientMessage struct {
	Type string `json:"type"`
}

// encodeStageState encodes the snapshot; participants and attributes are never null.
func encodeStageState(stageID string, snapshot []stage.ParticipantView) ([]byte, error) {
	ps := make([]stage.ParticipantView, len(snapshot))
	for i, p := range snapshot {
		ps[i] = withAttributes(p)
	}
	return json.Marshal(stageStateMessage{
		Type:    TypeStageState,
		Payload: stageState{StageID: stageID, Participants: ps},
	})
}

// encodeChange encodes one change; a zero Time (which the stage should not send) becomes now.
func encodeChange(stageID string, c stage.Change) ([]byte, error) {
	at := c.Time
	if at.IsZero() {
		at = time.Now()
	}
	p := changePayload{StageID: stageID, Reason: c.Reason, Time: at.UTC().Format(timeLayout)}
	if c.Participant.ID != "" {
		view := withAttributes(c.Participant)
		p.Participant = &view
	}
	return json.Marshal(changeMessage{Type: c.Type, Payload: p})
}

// isPing reports whether a client message is {"type":"PING"}; anything else, JSON or not, is
// ignored.
func isPing(b []byte) bool {
	var m clientMessage
	return json.Unmarshal(b, &m) == nil && m.Type == TypePing
}

func withAttributes(p stage.ParticipantView) stage.ParticipantView {
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	return p
}
