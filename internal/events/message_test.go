package events

import (
	"testing"
	"time"

	"github.com/footlight/footlight/internal/stage"
)

func TestEncode(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8_900_000, time.UTC)
	tests := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{
			"empty stage state",
			func() ([]byte, error) { return encodeStageState("st", nil) },
			`{"type":"STAGE_STATE","payload":{"stageId":"st","participants":[]}}`,
		},
		{
			"stage state",
			func() ([]byte, error) {
				return encodeStageState("st", []stage.ParticipantView{{ID: "p", UserID: "u", IsPublishing: true}})
			},
			`{"type":"STAGE_STATE","payload":{"stageId":"st","participants":[{"id":"p","userId":"u","attributes":{},"isPublishing":true}]}}`,
		},
		{
			"left with reason",
			func() ([]byte, error) {
				return encodeChange("st", stage.Change{Type: stage.ChangeLeft, Reason: stage.ReasonDisconnected, Time: at,
					Participant: stage.ParticipantView{ID: "p", Attributes: map[string]string{"a": "b"}}})
			},
			`{"type":"PARTICIPANT_LEFT","payload":{"stageId":"st","participant":{"id":"p","userId":"","attributes":{"a":"b"},"isPublishing":false},"reason":"PARTICIPANT_DISCONNECTED","time":"2026-03-04T05:06:07.008Z"}}`,
		},
		{
			"stage deleted",
			func() ([]byte, error) {
				return encodeChange("st", stage.Change{Type: stage.ChangeStageDeleted, Time: at})
			},
			`{"type":"STAGE_DELETED","payload":{"stageId":"st","time":"2026-03-04T05:06:07.008Z"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
}

func TestIsPing(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{`{"type":"PING"}`, true},
		{`{"type":"PING","extra":1}`, true},
		{`{"type":"ping"}`, false},
		{`{"type":"PONG"}`, false},
		{`PING`, false},
		{``, false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := isPing([]byte(tt.msg)); got != tt.want {
				t.Errorf("isPing(%s) = %v, want %v", tt.msg, got, tt.want)
			}
		})
	}
}
