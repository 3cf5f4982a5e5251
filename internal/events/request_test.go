package events

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/token"
)

func TestStageIDFromPath(t *testing.T) {
	tests := []struct {
		path string
		want string
		err  error
	}{
		{"/events", "", nil},
		{"/events/", "", nil},
		{"/events/abcdABCDefgh", "abcdABCDefgh", nil},
		{"/events/abcdABCDefgh/", "abcdABCDefgh", nil},
		{"/events/a/b", "", ErrBadPath},
		{"/eventsX", "", ErrBadPath},
		{"/other/abc", "", ErrBadPath},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := stageIDFromPath(tt.path)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("stageIDFromPath(%q) = %q, %v; want %q, %v", tt.path, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRequestToken(t *testing.T) {
	const jwt = "aaa.bbb.ccc"
	tests := []struct {
		name       string
		protocols  []string // Sec-WebSocket-Protocol header values
		query      string
		want       string
		fromHeader bool
		err        error
	}{
		{"subprotocol", []string{jwt}, "", jwt, true, nil},
		{"subprotocol among others", []string{"chat, " + jwt}, "", jwt, true, nil},
		{"subprotocol wins over query", []string{jwt}, "q.q.q", jwt, true, nil},
		{"query", nil, "q.q.q", "q.q.q", false, nil},
		{"query beside another protocol", []string{"chat"}, "q.q.q", "q.q.q", false, nil},
		{"non-JWT protocol only", []string{"chat"}, "", "chat", true, nil},
		{"none", nil, "", "", false, ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/events?token="+tt.query, nil)
			for _, p := range tt.protocols {
				r.Header.Add("Sec-WebSocket-Protocol", p)
			}
			got, fromHeader, err := requestToken(r)
			if got != tt.want || fromHeader != tt.fromHeader || !errors.Is(err, tt.err) {
				t.Errorf("requestToken = %q, %v, %v; want %q, %v, %v", got, fromHeader, err, tt.want, tt.fromHeader, tt.err)
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		err    error
		status int
		ok     bool
	}{
		{ErrNoToken, 401, true},
		{fmt.Errorf("verify token: %w", token.ErrMalformed), 401, true},
		{fmt.Errorf("verify token: %w", token.ErrExpired), 401, true},
		{fmt.Errorf("verify token: %w", token.ErrSignature), 401, true},
		{fmt.Errorf("verify token: %w", token.ErrUnknownKey), 401, true},
		{fmt.Errorf("verify token: %w", token.ErrAlgorithm), 401, true},
		{fmt.Errorf("verify token: %w", token.ErrLifetime), 401, true},
		{ErrWrongStage, 403, true},
		{fmt.Errorf("join: %w", stage.ErrRevoked), 403, true},
		{fmt.Errorf("join: %w", stage.ErrNotFound), 404, true},
		{ErrBadPath, 404, true},
		{ErrNotWebSocket, 426, true},
		{ErrClosed, 503, true},
		{errors.New("key store down"), 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			status, ok := httpStatus(tt.err)
			if status != tt.status || ok != tt.ok {
				t.Errorf("httpStatus = %d, %v; want %d, %v", status, ok, tt.status, tt.ok)
			}
		})
	}
}
