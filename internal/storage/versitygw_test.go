package storage

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startVersityGW runs a real versitygw (posix backend) in a temp dir on a free port until
// the test ends, and returns the config to reach it.
func startVersityGW(t *testing.T) S3Config {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		t.Fatalf("versitygw not on PATH: run scripts/test.sh (it installs versitygw): %v", err)
	}
	addr := freeAddr(t)
	root, sidecar := t.TempDir(), t.TempDir()
	logPath := filepath.Join(t.TempDir(), "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create log: %v", err)
	}
	const access, secret = "AK", "SK"
	// --sidecar keeps metadata in files, so the temp dir's filesystem needs no xattrs.
	cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", addr,
		"posix", "--sidecar", sidecar, root)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { // stopped by the cleanup below, which kills the process
		cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitListening(t, addr, exited, logPath)
	return S3Config{Endpoint: "http://" + addr, Region: "us-east-1",
		AccessKeyID: access, SecretAccessKey: secret, PathStyle: true}
}

// freeAddr finds a free 127.0.0.1 port by listening on port 0 and closing.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitListening polls addr until it answers HTTP, failing if the process exits first or
// 30 s pass.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, logPath string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("versitygw exited before answering on %s:\n%s", addr, log)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("versitygw did not answer on %s within 30s: %v\n%s", addr, err, log)
		}
	}
}
