package rtc

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{errNoToken, http.StatusUnauthorized},
		{fmt.Errorf("verify token: %w", token.ErrExpired), http.StatusUnauthorized},
		{fmt.Errorf("verify token: %w: x", token.ErrSignature), http.StatusUnauthorized},
		{fmt.Errorf("verify token: %w", token.ErrUnknownKey), http.StatusUnauthorized},
		{fmt.Errorf("verify token: %w", token.ErrMalformed), http.StatusUnauthorized},
		{errWrongStage, http.StatusForbidden},
		{errWrongParticipant, http.StatusForbidden},
		{errNotOwner, http.StatusForbidden},
		{fmt.Errorf("start publish: %w", stage.ErrInsufficientCapabilities), http.StatusForbidden},
		{fmt.Errorf("join: %w", stage.ErrRevoked), http.StatusForbidden},
		{fmt.Errorf("start publish: %w", stage.ErrPublisherLimit), http.StatusForbidden},
		{fmt.Errorf("find stage: %w", stage.ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("subscribe: %w", stage.ErrPublisherNotFound), http.StatusNotFound},
		{errSessionNotFound, http.StatusNotFound},
		{fmt.Errorf("%w: want application/sdp", errContentType), http.StatusUnsupportedMediaType},
		{fmt.Errorf("%w: bad", errBadOffer), http.StatusBadRequest},
		{errETag, http.StatusPreconditionFailed},
		{errICERestart, http.StatusUnprocessableEntity},
		{errClosed, http.StatusServiceUnavailable},
		{errors.New("disk on fire"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			status, reason := statusOf(tt.err)
			if status != tt.status || reason == "" {
				t.Errorf("statusOf = %d %q, want %d", status, reason, tt.status)
			}
		})
	}
	if _, reason := statusOf(errors.New("secret detail")); reason != "internal error" {
		t.Errorf("a 500 leaks %q", reason)
	}
}
