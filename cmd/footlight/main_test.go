package main

// Tests of the command line through the built binary: help, environment twins, refused values
// and the credentials a first start makes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

// contractFlags are the flags DESIGN.md's "Contracts" promise; the table must keep them.
var contractFlags = []string{"listen", "data-dir", "region", "account-id", "public-url", "rtc-udp-port",
	"rtc-public-ip", "rtmp-listen", "rtmps-listen", "tls-cert", "tls-key", "session-grace-period", "aws-quotas"}

// runBinary runs the footlight binary to its end (at most 30 s) with env added to a clean
// environment and returns stdout, stderr and the exit status.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, servertest.Binary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("footlight %s did not end within 30 s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("footlight %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// cleanEnv is this process's environment without FOOTLIGHT_* and AWS_* variables.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "FOOTLIGHT_") || strings.HasPrefix(e, "AWS_")
	})
}

// TestHelpListsEveryFlag: `footlight --help`, `footlight help serve` and `footlight serve
// --help` exit 0 and list every flag of the table, each with its FOOTLIGHT_* twin on its own
// usage line; the table holds every contract flag, each twin named after its flag.
func TestHelpListsEveryFlag(t *testing.T) {
	for _, name := range contractFlags {
		if !slices.ContainsFunc(flags, func(f flagSpec) bool { return f.name == name }) {
			t.Errorf("the flag table has no --%s (DESIGN.md Contracts)", name)
		}
	}
	for _, f := range flags {
		if want := "FOOTLIGHT_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_")); f.env != want {
			t.Errorf("--%s's twin is %s, want %s", f.name, f.env, want)
		}
	}
	for _, args := range [][]string{{"--help"}, {"help", "serve"}, {"serve", "--help"}} {
		stdout, stderr, code := runBinary(t, nil, args...)
		if code != 0 {
			t.Errorf("footlight %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		lines := strings.Split(stdout+stderr, "\n")
		for _, f := range flags {
			i := slices.IndexFunc(lines, func(l string) bool {
				fields := strings.Fields(l)
				return len(fields) > 0 && fields[0] == "-"+f.name
			})
			if i < 0 || i+1 >= len(lines) || !strings.Contains(lines[i+1], "["+f.env+"]") {
				t.Errorf("footlight %s: no -%s line followed by its usage naming [%s]:\n%s", strings.Join(args, " "), f.name, f.env, stdout+stderr)
			}
		}
	}
}

// TestEnvironmentTwins: values given only as FOOTLIGHT_* variables take effect (the region and
// account in ARNs and the signing scope, debug logs, quotas on), and a flag beats its twin.
func TestEnvironmentTwins(t *testing.T) {
	ctx := context.Background()
	p := servertest.StartBinaryWith(t, t.TempDir(), servertest.BinaryOptions{Env: []string{
		"FOOTLIGHT_REGION=eu-west-1", "FOOTLIGHT_ACCOUNT_ID=111122223333",
		"FOOTLIGHT_LOG_LEVEL=debug", "FOOTLIGHT_AWS_QUOTAS=true",
	}})
	if p.Region != "eu-west-1" {
		t.Fatalf("the banner exports region %q, want eu-west-1", p.Region)
	}
	c := p.Client()
	var out struct {
		Stage struct {
			Arn string `json:"arn"`
		} `json:"stage"`
	}
	if err := c.Call(ctx, "CreateStage", map[string]any{"name": "twins"}, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if !regexp.MustCompile(`^arn:aws:ivs:eu-west-1:111122223333:stage/[a-zA-Z0-9]{12}$`).MatchString(out.Stage.Arn) {
		t.Errorf("stage ARN %q, want region eu-west-1 and account 111122223333", out.Stage.Arn)
	}
	// The request line is logged just after the reply is written: wait for it.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.StderrText(), "level=DEBUG msg=request"); {
		if time.Now().After(deadline) {
			t.Fatalf("FOOTLIGHT_LOG_LEVEL=debug: no debug request line in the log:\n%s", p.StderrText())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// FOOTLIGHT_AWS_QUOTAS: ListStages is 5 TPS; a full bucket gives 5 calls, so some call of
	// 100 in a row is throttled unless they took 19 s.
	throttled := false
	for i := 0; i < 100 && !throttled; i++ {
		var apiErr *servertest.APIError
		err := c.Call(ctx, "ListStages", nil, nil)
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests && apiErr.Code == "ThrottlingException":
			throttled = true
		case err != nil:
			t.Fatalf("ListStages %d: %v", i+1, err)
		}
	}
	if !throttled {
		t.Errorf("FOOTLIGHT_AWS_QUOTAS=true: 100 ListStages calls in a row, none throttled")
	}

	p2 := servertest.StartBinaryWith(t, t.TempDir(), servertest.BinaryOptions{
		Env: []string{"FOOTLIGHT_REGION=eu-west-1"}, Args: []string{"--region", "ap-south-1"}})
	if err := p2.Client().Call(ctx, "CreateStage", map[string]any{"name": "flag-wins"}, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if !strings.HasPrefix(out.Stage.Arn, "arn:aws:ivs:ap-south-1:") {
		t.Errorf("--region ap-south-1 with FOOTLIGHT_REGION=eu-west-1: ARN %q", out.Stage.Arn)
	}
}

// TestBadValuesRefused: a value a flag or its twin cannot take ends the command at once with
// exit 1, a "footlight: " line naming where the value came from, no banner, and (for values
// checked before anything starts) no data dir made.
func TestBadValuesRefused(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         []string
		want        string
		touchesDisk bool // the refusal comes after the data dir is opened
	}{
		{"port", []string{"--rtc-udp-port", "nope"}, nil, `--rtc-udp-port: "nope" is not a port`, false},
		{"duration as a twin", nil, []string{"FOOTLIGHT_SESSION_GRACE_PERIOD=forever"}, `FOOTLIGHT_SESSION_GRACE_PERIOD=forever: "forever" is not a duration`, false},
		{"publishers as a twin", nil, []string{"FOOTLIGHT_MAX_PUBLISHERS=-3"}, `FOOTLIGHT_MAX_PUBLISHERS=-3: "-3" is not a positive number`, false},
		{"duration", []string{"--session-grace-period", "soon"}, nil, `--session-grace-period: "soon" is not a duration`, false},
		{"publishers", []string{"--max-publishers", "0"}, nil, `--max-publishers: "0" is not a positive number`, false},
		{"log level", []string{"--log-level", "loud"}, nil, `--log-level: "loud" is not debug, info, warn or error`, false},
		{"boolean", []string{"--aws-quotas=maybe"}, nil, `--aws-quotas: "maybe" is not true or false`, false},
		{"boolean as a twin", nil, []string{"FOOTLIGHT_AWS_QUOTAS=sometimes"}, `FOOTLIGHT_AWS_QUOTAS=sometimes: "sometimes" is not true or false`, false},
		{"boolean with a separate value", []string{"--aws-quotas", "false"}, nil, `serve takes no arguments, got "false"`, false},
		{"unknown flag", []string{"--no-such-flag"}, nil, "flag provided but not defined: -no-such-flag", false},
		{"half the credentials", nil, []string{"FOOTLIGHT_ACCESS_KEY_ID=AKIAONLYTHEKEY000001"}, "set both FOOTLIGHT_ACCESS_KEY_ID and FOOTLIGHT_SECRET_ACCESS_KEY, or neither", true},
		{"listen address", []string{"--listen", "127.0.0.1:notaport"}, nil, "listen 127.0.0.1:notaport", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--data-dir", dir, "--rtmp-listen", "off", "--rtmps-listen", "off", "--rtc-udp-port", "0", "--listen", "127.0.0.1:0"}, tt.args...)
			stdout, stderr, code := runBinary(t, tt.env, args...)
			if code != 1 || !strings.Contains(stderr, "footlight: "+tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, "footlight: "+tt.want)
			}
			if strings.Contains(stdout, "Footlight is serving") {
				t.Errorf("printed the banner: %s", stdout)
			}
			if _, err := os.Stat(dir); !tt.touchesDisk && err == nil {
				t.Errorf("made the data dir before refusing the value")
			}
		})
	}
	t.Run("unknown command", func(t *testing.T) {
		_, stderr, code := runBinary(t, nil, "launch")
		if code != 1 || !strings.Contains(stderr, `footlight: unknown command "launch"`) {
			t.Errorf("footlight launch: exit %d, stderr %q", code, stderr)
		}
	})
}

// TestFirstStartMakesCredentials runs the binary with no credentials in its environment: it
// makes a pair, keeps it in the data dir (the same pair after a restart), prints it in the
// banner with a create-stage line, and that banner, pasted into a shell, creates a stage with
// the real aws CLI. The secret never reaches the log.
func TestFirstStartMakesCredentials(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the aws CLI is not on PATH (%v); install it: python3 -m pip install 'awscli>=1.32' (scripts/test.sh does)", err)
	}
	dir := t.TempDir()
	p := servertest.StartBinaryWith(t, dir, servertest.BinaryOptions{OwnCredentials: true})
	banner := p.Banner()
	if !strings.Contains(banner, "paste a participant token: "+p.URL+"/\n") {
		t.Errorf("the banner does not point at the console:\n%s", banner)
	}
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(p.AccessKeyID) || len(p.SecretAccessKey) != 40 {
		t.Fatalf("the banner's pair %q / %d-character secret is not a generated one:\n%s", p.AccessKeyID, len(p.SecretAccessKey), banner)
	}
	var stored struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	path := filepath.Join(dir, "credentials.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no credentials kept in the data dir: %v", err)
	}
	if err := json.Unmarshal(raw, &stored); err != nil || stored.AccessKeyID != p.AccessKeyID || stored.SecretAccessKey != p.SecretAccessKey {
		t.Fatalf("credentials.json holds %s, the banner shows %s", raw, p.AccessKeyID)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// The banner's shell lines, exactly as printed.
	var script []string
	for _, line := range strings.Split(banner, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "export AWS_") || strings.HasPrefix(l, "aws ") {
			script = append(script, l)
		}
	}
	wantLines := []string{"export AWS_ACCESS_KEY_ID=" + p.AccessKeyID, "export AWS_SECRET_ACCESS_KEY=" + p.SecretAccessKey,
		"aws --endpoint-url " + p.URL + " ivs-realtime create-stage "}
	for _, w := range wantLines {
		if !slices.ContainsFunc(script, func(l string) bool { return strings.HasPrefix(l, w) }) {
			t.Fatalf("the banner has no line starting %q:\n%s", w, banner)
		}
	}
	if !strings.HasPrefix(script[len(script)-1], "aws ") {
		t.Fatalf("the banner's create-stage line does not come after its exports:\n%s", banner)
	}
	paste := func(edit func(string) string) (stdout, stderr string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-e", "-c", edit(strings.Join(script, "\n")))
		cmd.Env = append(cleanEnv(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=",
			"PATH="+filepath.Dir(aws)+":"+os.Getenv("PATH"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		return out.String(), errb.String(), err
	}
	stdout, stderr, err := paste(func(s string) string { return s })
	if err != nil {
		t.Fatalf("the pasted banner failed: %v\n%s\nstdout: %s\nstderr: %s", err, strings.Join(script, "\n"), stdout, stderr)
	}
	var created struct {
		Stage struct {
			Arn string `json:"arn"`
		} `json:"stage"`
		ParticipantTokens []struct {
			UserID string `json:"userId"`
			Token  string `json:"token"`
		} `json:"participantTokens"`
	}
	if err := json.Unmarshal([]byte(stdout), &created); err != nil {
		t.Fatalf("the pasted create-stage printed no JSON: %v\n%s", err, stdout)
	}
	if !regexp.MustCompile(`^arn:aws:ivs:us-east-1:123456789012:stage/[a-zA-Z0-9]{12}$`).MatchString(created.Stage.Arn) ||
		len(created.ParticipantTokens) != 1 || created.ParticipantTokens[0].UserID != "alice" || created.ParticipantTokens[0].Token == "" {
		t.Fatalf("the pasted create-stage printed %s", stdout)
	}
	// The pair is what made it work: another secret is refused.
	_, stderr, err = paste(func(s string) string {
		return strings.Replace(s, "AWS_SECRET_ACCESS_KEY="+p.SecretAccessKey, "AWS_SECRET_ACCESS_KEY=not"+p.SecretAccessKey[3:], 1)
	})
	if err == nil || !strings.Contains(stderr, "InvalidSignatureException") {
		t.Fatalf("the banner with another secret: %v, stderr %q; want InvalidSignatureException", err, stderr)
	}

	if err := p.Kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p2 := servertest.StartBinaryWith(t, dir, servertest.BinaryOptions{OwnCredentials: true})
	if p2.AccessKeyID != p.AccessKeyID || p2.SecretAccessKey != p.SecretAccessKey {
		t.Fatalf("after a restart the banner shows %s, before %s: the pair was not kept", p2.AccessKeyID, p.AccessKeyID)
	}
	if err := p2.Client().Call(context.Background(), "GetStage", map[string]string{"arn": created.Stage.Arn}, nil); err != nil {
		t.Fatalf("GetStage of the pasted stage after the restart, with the kept pair: %v", err)
	}
	for i, proc := range []*servertest.Process{p, p2} {
		if strings.Contains(proc.StderrText(), p.SecretAccessKey) {
			t.Errorf("run %d logged the generated secret", i+1)
		}
	}
}
