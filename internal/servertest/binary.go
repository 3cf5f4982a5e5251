package servertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	banner chan struct{} // closed once the banner's last line (or stdout's end) was read
	mu     sync.Mutex    // guards Stderr and stdout
	stdout []string      // lines printed so far
}

// Fixed credentials StartBinary injects, so restarts keep them.
const (
	binaryAccessKeyID     = "AKIATESTFOOTLIGHT001"
	binarySecretAccessKey = "binary-test-secret"
)

// BinaryOptions adjust StartBinaryWith.
type BinaryOptions struct {
	// Args are extra `footlight serve` arguments, after the harness's own (later flags win).
	Args []string
	// Env are extra KEY=value entries of the process's environment (later entries win).
	Env []string
	// OwnCredentials leaves FOOTLIGHT_ACCESS_KEY_ID and FOOTLIGHT_SECRET_ACCESS_KEY unset, so
	// the server makes (or reloads) its own pair; the Process's credentials are then read
	// from the banner's export lines.
	OwnCredentials bool
}

// StartBinary runs `footlight serve` on dataDir with extra flags and waits until it is
// healthy. Credentials come from the environment so restarts keep them.
func StartBinary(t testing.TB, dataDir string, extra ...string) *Process {
	t.Helper()
	return StartBinaryWith(t, dataDir, BinaryOptions{Args: extra})
}

// StartBinaryWith is StartBinary with options. The region of the returned Server is the one
// the banner's AWS_DEFAULT_REGION line names.
func StartBinaryWith(t testing.TB, dataDir string, o BinaryOptions) *Process {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--rtmp-listen", "off", "--rtmps-listen", "off", "--rtc-udp-port", "0"}, o.Args...)
	cmd := exec.Command(Binary(t), args...)
	p := &Process{Server: Server{Region: "us-east-1", DataDir: dataDir}, Cmd: cmd, Stderr: &strings.Builder{},
		exited: make(chan struct{}), banner: make(chan struct{})}
	env := os.Environ()
	if o.OwnCredentials {
		env = slices.DeleteFunc(env, func(e string) bool {
			return strings.HasPrefix(e, "FOOTLIGHT_ACCESS_KEY_ID=") || strings.HasPrefix(e, "FOOTLIGHT_SECRET_ACCESS_KEY=")
		})
	} else {
		p.AccessKeyID, p.SecretAccessKey = binaryAccessKeyID, binarySecretAccessKey
		env = append(env, "FOOTLIGHT_ACCESS_KEY_ID="+p.AccessKeyID, "FOOTLIGHT_SECRET_ACCESS_KEY="+p.SecretAccessKey)
	}
	cmd.Env = append(env, o.Env...)
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
	go p.readStdout(stdout, urlc) // ends at the process's stdout EOF
	select {
	case p.URL = <-urlc:
	case <-p.exited:
		t.Fatalf("footlight exited before serving: %s", p.StderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("footlight printed no banner in 30 s: %s", p.StderrText())
	}
	p.readBanner(t, o.OwnCredentials)
	WaitHealthy(t, p.URL)
	return p
}

// readStdout keeps every line the process prints and sends the banner's URL on urlc.
func (p *Process) readStdout(stdout io.Reader, urlc chan<- string) {
	sc := bufio.NewScanner(stdout)
	done := false
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.stdout = append(p.stdout, line)
		p.mu.Unlock()
		if u, ok := strings.CutPrefix(line, "Footlight is serving the IVS Real-Time API at "); ok {
			urlc <- u
		}
		if !done && strings.HasPrefix(strings.TrimSpace(line), "aws --endpoint-url ") {
			done = true
			close(p.banner)
		}
	}
	if !done {
		close(p.banner)
	}
}

// readBanner waits for the whole banner and takes the region it exports and, with
// ownCredentials, the credentials.
func (p *Process) readBanner(t testing.TB, ownCredentials bool) {
	t.Helper()
	select {
	case <-p.banner:
	case <-time.After(30 * time.Second):
		t.Fatalf("footlight printed no complete banner in 30 s:\n%s", p.Banner())
	}
	for _, line := range strings.Split(p.Banner(), "\n") {
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "AWS_DEFAULT_REGION":
			p.Region = v
		case k == "AWS_ACCESS_KEY_ID" && ownCredentials:
			p.AccessKeyID = v
		case k == "AWS_SECRET_ACCESS_KEY" && ownCredentials && !strings.HasPrefix(v, `"$`): // shown only when the server made it
			p.SecretAccessKey = v
		}
	}
	if p.AccessKeyID == "" || p.SecretAccessKey == "" {
		t.Fatalf("the banner exports no credentials:\n%s", p.Banner())
	}
}

// Banner is what the process has printed on stdout so far.
func (p *Process) Banner() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stdout, "\n")
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
