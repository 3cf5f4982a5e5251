package servertest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds ./cmd/footlight once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		dir, err := os.MkdirTemp("", "footlight-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "footlight")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/footlight")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build footlight: %v", buildErr)
	}
	return buildPath
}

// Process is a footlight binary running as a child process.
type Process struct {
	Server
	Cmd    *exec.Cmd
	Stderr *strings.Builder
	exited chan struct{}
	mu     sync.Mutex // guards Stderr
}

// StartBinary runs `footlight serve` on dataDir with extra flags and waits until it is
// healthy. Credentials come from the environment so restarts keep them.
func StartBinary(t testing.TB, dataDir string, extra ...string) *Process {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--rtmp-listen", "off", "--rtmps-listen", "off", "--rtc-udp-port", "0"}, extra...)
	cmd := exec.Command(Binary(t), args...)
	p := &Process{Server: Server{AccessKeyID: "AKIATESTFOOTLIGHT001", SecretAccessKey: "binary-test-secret", Region: "us-east-1", DataDir: dataDir}, Cmd: cmd, Stderr: &strings.Builder{}, exited: make(chan struct{})}
	cmd.Env = append(os.Environ(), "FOOTLIGHT_ACCESS_KEY_ID="+p.AccessKeyID, "FOOTLIGHT_SECRET_ACCESS_KEY="+p.SecretAccessKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.Stderr.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start footlight: %v", err)
	}
	go func() { cmd.Wait(); close(p.exited) }() // ends when the process exits
	t.Cleanup(func() { p.Kill(syscall.SIGKILL) })
	urlc := make(chan string, 1)
	go func() { // reads the banner; ends at the process's stdout EOF
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Footlight is serving the IVS Real-Time API at "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case p.URL = <-urlc:
	case <-p.exited:
		t.Fatalf("footlight exited before serving: %s", p.StderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("footlight printed no banner in 30 s: %s", p.StderrText())
	}
	WaitHealthy(t, p.URL)
	return p
}

// StderrText is what the process has logged so far.
func (p *Process) StderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Stderr.String()
}

// Kill sends sig and waits for the process to exit (up to 15 s).
func (p *Process) Kill(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.Cmd.Process.Signal(sig)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		p.Cmd.Process.Kill()
		return fmt.Errorf("footlight did not exit on %v within 15 s", sig)
	}
}

// ExitCode is the exit status after Kill returned (-1 when killed by a signal).
func (p *Process) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
