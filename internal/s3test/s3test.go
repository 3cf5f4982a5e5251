// Package s3test runs a real S3 server, versitygw with its posix backend, for tests: on a
// free 127.0.0.1 port, objects in a temp dir, stopped by t.Cleanup. It can be stopped and
// started again on the same port and data, to test what a store outage does.
package s3test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running versitygw.
type Server struct {
	Endpoint        string // http://127.0.0.1:port
	Region          string
	AccessKeyID     string
	SecretAccessKey string

	t             testing.TB
	addr          string
	root, sidecar string
	logPath       string

	mu     sync.Mutex // guards cmd and exited
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs versitygw until the test ends. scripts/test.sh installs it.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Region: "us-east-1", AccessKeyID: "AKS3TEST", SecretAccessKey: "s3test-secret",
		t: t, addr: freeAddr(t), root: t.TempDir(), sidecar: t.TempDir(),
		logPath: filepath.Join(t.TempDir(), "versitygw.log"),
	}
	s.Endpoint = "http://" + s.addr
	s.Resume()
	t.Cleanup(s.Stop)
	return s
}

// Stop kills the server; its objects stay for Resume. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Resume starts the server (again) on its port and data, and waits until it answers.
func (s *Server) Resume() {
	s.t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		s.t.Fatalf("versitygw not on PATH: run scripts/test.sh (it installs versitygw): %v", err)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatalf("versitygw log: %v", err)
	}
	// --sidecar keeps metadata in files, so the temp dir's filesystem needs no xattrs.
	cmd := exec.Command(bin, "--access", s.AccessKeyID, "--secret", s.SecretAccessKey, "--port", s.addr,
		"posix", "--sidecar", s.sidecar, s.root)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { // ends when the process exits (Stop kills it)
		cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	s.waitListening(exited)
}

// waitListening polls the port until it answers HTTP, failing if the process exits first
// or 30 s pass. A port just freed by Stop may take a moment to bind again.
func (s *Server) waitListening(exited <-chan struct{}) {
	s.t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(s.logPath)
			s.t.Fatalf("versitygw exited before answering on %s:\n%s", s.addr, log)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.logPath)
			s.t.Fatalf("versitygw did not answer on %s within 30s: %v\n%s", s.addr, err, log)
		}
	}
}

// Client is an aws-sdk-go-v2 S3 client for the server, path-style.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, ""),
	})
}

// CreateBucket makes a bucket, failing t if it cannot.
func (s *Server) CreateBucket(name string) {
	s.t.Helper()
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		s.t.Fatalf("create bucket %s: %v", name, err)
	}
}

// freeAddr finds a free 127.0.0.1 port by listening on port 0 and closing.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
