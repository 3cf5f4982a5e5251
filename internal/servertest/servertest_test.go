package servertest

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestStartAndCall checks the harness itself: a started server answers a signed call, and a
// wrong secret gets AWS's 403.
func TestStartAndCall(t *testing.T) {
	s := Start(t, nil)
	c := s.Client()
	var out struct {
		Stages []any `json:"stages"`
	}
	if err := c.Call(context.Background(), "ListStages", nil, &out); err != nil {
		t.Fatalf("ListStages: %v", err)
	}
	if out.Stages == nil {
		t.Fatalf("ListStages: stages member missing")
	}
	// A new client: the SDK signer caches derived keys by access key id.
	c = s.Client()
	c.Creds.SecretAccessKey = "wrong"
	var apiErr *APIError
	err := c.Call(context.Background(), "ListStages", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != "InvalidSignatureException" {
		t.Fatalf("wrong secret: got %v, want 403 InvalidSignatureException", err)
	}
}
