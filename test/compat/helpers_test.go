// Package compat_test drives Footlight with the real clients people use against IVS
// Real-Time: the aws CLI, boto3, the AWS SDK for JavaScript v3 and aws-sdk-go v1. Nothing is
// mocked; a missing client fails the test with what to install.
package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliServiceErrorExit is what awscli 1.x exits with when the service answers an error (and
// on client-side parameter validation). awscli v2 uses 254 for service errors; the image's
// `aws` is 1.45.11, which really returns 255 (checked).
const cliServiceErrorExit = 255

// clientTimeout bounds every client process a test starts.
const clientTimeout = 2 * time.Minute

// cliResult is one finished `aws` run.
type cliResult struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

func (r cliResult) String() string {
	return "aws " + strings.Join(r.Args, " ") + "\nexit " + strconv.Itoa(r.Code) + "\nstdout: " + r.Stdout + "\nstderr: " + r.Stderr
}

// requireTool fails t when a client program the test drives is not on PATH.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v); install it: %s (scripts/test.sh does)", name, err, install)
	}
	return p
}

// runAWS runs the aws CLI with env against endpoint: args as exec arguments (no shell),
// followed by --endpoint-url endpoint, so a documented command line is a verbatim prefix.
func runAWS(t *testing.T, env []string, endpoint string, args ...string) cliResult {
	t.Helper()
	bin := requireTool(t, "aws", "python3 -m pip install 'awscli>=1.32'")
	full := append(append([]string{}, args...), "--endpoint-url", endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{Args: full, Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	default:
		t.Fatalf("run aws %s: %v", strings.Join(full, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("aws %s did not finish in %v\n%s", strings.Join(full, " "), clientTimeout, res)
	}
	return res
}

// awsJSON runs the CLI, requires success and decodes its JSON output into out, a pointer
// that is zeroed first (nil: the output must be empty, as for operations with an empty
// result).
func awsJSON(t *testing.T, env []string, endpoint string, out any, args ...string) {
	t.Helper()
	res := runAWS(t, env, endpoint, args...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	if out == nil {
		if strings.TrimSpace(res.Stdout) != "" {
			t.Fatalf("want no output:\n%s", res)
		}
		return
	}
	// Start from zero: json.Unmarshal merges into maps and keeps members the output lacks.
	reflect.ValueOf(out).Elem().SetZero()
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		t.Fatalf("decode CLI output: %v\n%s", err, res)
	}
}

// awsFails runs the CLI and requires the service error code in its error line, e.g.
// "An error occurred (ConflictException) when calling the DeleteStorageConfiguration
// operation: ...", and awscli's exit status for service errors. It returns stderr.
func awsFails(t *testing.T, env []string, endpoint, code string, args ...string) string {
	t.Helper()
	res := runAWS(t, env, endpoint, args...)
	if res.Code != cliServiceErrorExit {
		t.Fatalf("want exit %d (%s):\n%s", cliServiceErrorExit, code, res)
	}
	if !strings.Contains(res.Stderr, "An error occurred ("+code+")") {
		t.Fatalf("want %s on stderr:\n%s", code, res)
	}
	if strings.TrimSpace(res.Stdout) != "" {
		t.Fatalf("want no stdout on error:\n%s", res)
	}
	return res.Stderr
}

// withEnv returns env with the given KEY=value entries replacing any earlier ones.
func withEnv(env []string, kv ...string) []string {
	out := make([]string, 0, len(env)+len(kv))
	for _, e := range env {
		keep := true
		for _, o := range kv {
			if k, _, _ := strings.Cut(o, "="); strings.HasPrefix(e, k+"=") {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return append(out, kv...)
}

// runClientScript runs a client program (python3 or node) with env in this directory and
// decodes the one JSON object it prints into out. A non-zero exit fails t with its stderr;
// otherwise stderr is ignored (Node warns about its own version there).
func runClientScript(t *testing.T, env []string, out any, program, install string, args ...string) {
	t.Helper()
	bin := requireTool(t, program, install)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", program, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("%s %s printed no JSON summary: %v\nstdout: %s\nstderr: %s", program, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
}
