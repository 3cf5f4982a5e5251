// Package servertest starts real Footlight servers for tests, like net/http/httptest: in
// process (Start) or as the built binary (StartBinary), on 127.0.0.1 with a free port, data
// in a temp dir, fresh credentials, stopped by t.Cleanup.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/server"
)

// Server is a started server and what a client needs to reach it.
type Server struct {
	URL             string // e.g. http://127.0.0.1:41234
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	DataDir         string
	Node            *server.Server // the in-process server; nil for StartBinary
}

// Start runs a server in this process with the given overrides (nil for defaults).
func Start(t testing.TB, override func(*server.Config)) *Server {
	t.Helper()
	cfg := server.Config{
		Listen:          "127.0.0.1:0",
		DataDir:         t.TempDir(),
		RTMPListen:      "off",
		RTMPSListen:     "off",
		AccessKeyID:     "AKIATESTFOOTLIGHT001",
		SecretAccessKey: "test-secret-" + fmt.Sprint(time.Now().UnixNano()),
	}
	if override != nil {
		override(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }() // stopped by the cleanup's cancel
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	})
	s := &Server{URL: srv.PublicURL(), AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, Region: srv.Region(), DataDir: cfg.DataDir, Node: srv}
	WaitHealthy(t, s.URL)
	return s
}

// Env is the environment an aws CLI, boto3 or JS SDK process needs to call s, with no
// config or credentials file of the machine's leaking in.
func (s *Server) Env() []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+s.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+s.SecretAccessKey,
		"AWS_DEFAULT_REGION="+s.Region,
		"AWS_REGION="+s.Region,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=",
		"FOOTLIGHT_ENDPOINT="+s.URL,
	)
}

// WaitHealthy polls GET /healthz until it answers 200, failing t after 20 s.
func WaitHealthy(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := healthy(url)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s never became healthy: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthy(url string) error {
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
