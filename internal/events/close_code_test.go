package events

import (
	"testing"

	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/stage"
)

func TestKickCode(t *testing.T) {
	tests := []struct {
		reason string
		want   websocket.StatusCode
	}{
		{stage.ReasonStageDeleted, 4009},
		{stage.ReasonDisconnected, 4010},
		{stage.ReasonReplaced, 4011},
		{"ANYTHING_ELSE", 4000},
		{"", 4000},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			if got := kickCode(tt.reason); got != tt.want {
				t.Errorf("kickCode(%q) = %d, want %d", tt.reason, got, tt.want)
			}
		})
	}
}
