// Command footlight is a self-hosted Amazon IVS Real-Time Streaming server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/footlight/footlight/internal/server"
)

const usage = `footlight: a self-hosted Amazon IVS Real-Time Streaming server.

Usage:
  footlight serve [flags]   run the API, media and events endpoints in one process
  footlight help [command]  show this help, or a command's flags

Point the aws CLI or any AWS SDK at it:
  aws --endpoint-url http://localhost:8080 ivs-realtime create-stage --name stage1

Run "footlight serve --help" for the flags; each has a FOOTLIGHT_* environment twin.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "footlight:", err)
			os.Exit(1)
		}
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] == "serve" {
			return serve([]string{"--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout, "\nserve flags:")
		fs, _, _ := serveFlags()
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// flagSpec is one row of the flag table: a flag, its environment twin and its default.
// set stores a value in the config or says why it is not one (the caller names the flag
// or variable it came from).
type flagSpec struct {
	name, env, def, usage string
	set                   func(cfg *server.Config, v string) error
	boolean               bool // a bare --name means true
}

func str(dst func(*server.Config) *string) func(*server.Config, string) error {
	return func(c *server.Config, v string) error { *dst(c) = v; return nil }
}

func boolean(dst func(*server.Config) *bool) func(*server.Config, string) error {
	return func(c *server.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst(c) = b
		return nil
	}
}

// flags is the one table of serve's flags (DESIGN.md "Contracts").
var flags = []flagSpec{
	{name: "listen", env: "FOOTLIGHT_LISTEN", def: ":8080", usage: "HTTP listen address: API, WHIP/WHEP, events, console, health", set: str(func(c *server.Config) *string { return &c.Listen })},
	{name: "data-dir", env: "FOOTLIGHT_DATA_DIR", def: "footlight-data", usage: "directory for the SQLite database, keys, credentials and local recordings", set: str(func(c *server.Config) *string { return &c.DataDir })},
	{name: "region", env: "FOOTLIGHT_REGION", def: "us-east-1", usage: "AWS region in ARNs and the SigV4 credential scope", set: str(func(c *server.Config) *string { return &c.Region })},
	{name: "account-id", env: "FOOTLIGHT_ACCOUNT_ID", def: "123456789012", usage: "AWS account id in ARNs", set: str(func(c *server.Config) *string { return &c.AccountID })},
	{name: "public-url", env: "FOOTLIGHT_PUBLIC_URL", def: "", usage: "base URL advertised in stage endpoints and tokens (default http://<listen address>)", set: str(func(c *server.Config) *string { return &c.PublicURL })},
	{name: "rtc-udp-port", env: "FOOTLIGHT_RTC_UDP_PORT", def: "7900", usage: "the one UDP port all WebRTC media uses", set: func(c *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%q is not a port", v)
		}
		c.RTCUDPPort = n
		return nil
	}},
	{name: "rtc-public-ip", env: "FOOTLIGHT_RTC_PUBLIC_IP", def: "", usage: "IP advertised in ICE candidates when behind NAT", set: str(func(c *server.Config) *string { return &c.RTCPublicIP })},
	{name: "rtmp-listen", env: "FOOTLIGHT_RTMP_LISTEN", def: ":1935", usage: `RTMP ingest listen address, or "off"`, set: str(func(c *server.Config) *string { return &c.RTMPListen })},
	{name: "rtmps-listen", env: "FOOTLIGHT_RTMPS_LISTEN", def: ":4443", usage: `RTMPS ingest listen address, or "off"`, set: str(func(c *server.Config) *string { return &c.RTMPSListen })},
	{name: "tls-cert", env: "FOOTLIGHT_TLS_CERT", def: "", usage: "TLS certificate (PEM) for RTMPS", set: str(func(c *server.Config) *string { return &c.TLSCert })},
	{name: "tls-key", env: "FOOTLIGHT_TLS_KEY", def: "", usage: "TLS private key (PEM) for RTMPS", set: str(func(c *server.Config) *string { return &c.TLSKey })},
	{name: "session-grace-period", env: "FOOTLIGHT_SESSION_GRACE_PERIOD", def: "10s", usage: "how long a stage session outlives its last participant", set: func(c *server.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration", v)
		}
		c.SessionGracePeriod = d
		return nil
	}},
	{name: "max-publishers", env: "FOOTLIGHT_MAX_PUBLISHERS", def: "12", usage: "publishers allowed per stage (IVS allows 12)", set: func(c *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		c.MaxPublishers = n
		return nil
	}},
	{name: "aws-quotas", env: "FOOTLIGHT_AWS_QUOTAS", def: "false", boolean: true,
		usage: "enforce IVS's account quotas (402 ServiceQuotaExceededException) and API rate limits (429 ThrottlingException)",
		set:   boolean(func(c *server.Config) *bool { return &c.Quotas })},
	{name: "s3-endpoint", env: "FOOTLIGHT_S3_ENDPOINT", def: "", usage: "S3-compatible endpoint recordings go to (empty: the local store in the data dir, served at /recordings/)", set: str(func(c *server.Config) *string { return &c.S3.Endpoint })},
	{name: "s3-region", env: "FOOTLIGHT_S3_REGION", def: "us-east-1", usage: "region the S3 requests are signed for", set: str(func(c *server.Config) *string { return &c.S3.Region })},
	{name: "s3-path-style", env: "FOOTLIGHT_S3_PATH_STYLE", def: "true", usage: "address buckets as <endpoint>/<bucket> (most self-hosted stores need it)",
		set: boolean(func(c *server.Config) *bool { return &c.S3.PathStyle })},
	{name: "log-level", env: "FOOTLIGHT_LOG_LEVEL", def: "info", usage: "debug, info, warn or error", set: func(c *server.Config, v string) error {
		_, err := logLevel(v)
		return err
	}},
}

func logLevel(v string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(v)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", v)
	}
	return level, nil
}

// boolFlag is a string-valued flag that may stand alone, as --aws-quotas for --aws-quotas=true.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolFlag) Set(v string) error { *b.v = v; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

// serveFlags builds the flag set; values start from the environment twins, then the defaults.
func serveFlags() (*flag.FlagSet, map[string]*string, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	values := map[string]*string{}
	for _, f := range flags {
		def := f.def
		if v, ok := os.LookupEnv(f.env); ok {
			def = v
		}
		if f.boolean {
			values[f.name] = &def
			fs.Var(boolFlag{&def}, f.name, f.usage+" ["+f.env+"]")
			continue
		}
		values[f.name] = fs.String(f.name, def, f.usage+" ["+f.env+"]")
	}
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: footlight serve [flags]\n\nAPI credentials come from FOOTLIGHT_ACCESS_KEY_ID and FOOTLIGHT_SECRET_ACCESS_KEY;\nunset, a pair is made on first start and kept in the data dir. The S3 store's\ncredentials come from FOOTLIGHT_S3_ACCESS_KEY_ID and FOOTLIGHT_S3_SECRET_ACCESS_KEY.\n\nFlags:")
		fs.PrintDefaults()
	}
	return fs, values, nil
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs, values, _ := serveFlags()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q (a boolean flag takes its value as --name=false)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var cfg server.Config
	for _, f := range flags {
		v := *values[f.name]
		if err := f.set(&cfg, v); err != nil {
			if given[f.name] {
				return fmt.Errorf("--%s: %w", f.name, err)
			}
			return fmt.Errorf("%s=%s: %w", f.env, v, err)
		}
	}
	level, _ := logLevel(*values["log-level"]) // checked by the table
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.AccessKeyID = os.Getenv("FOOTLIGHT_ACCESS_KEY_ID")
	cfg.SecretAccessKey = os.Getenv("FOOTLIGHT_SECRET_ACCESS_KEY")
	// Unset, the AWS SDK's default chain (AWS_* variables, shared files, instance role) is used.
	cfg.S3.AccessKeyID = os.Getenv("FOOTLIGHT_S3_ACCESS_KEY_ID")
	cfg.S3.SecretAccessKey = os.Getenv("FOOTLIGHT_S3_SECRET_ACCESS_KEY")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, srv)
	return srv.Run(ctx)
}

// printBanner tells a newcomer how to reach the server: it goes to stdout, not the log, and
// shows the secret only when the server made it (the operator could not know it otherwise).
func printBanner(w io.Writer, srv *server.Server) {
	c := srv.Credentials()
	secret := `"$FOOTLIGHT_SECRET_ACCESS_KEY"`
	if c.Generated {
		secret = c.SecretAccessKey
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Footlight is serving the IVS Real-Time API at %s\n\n", srv.PublicURL())
	fmt.Fprintf(&b, "Open the console in a browser and paste a participant token: %s/\n\n", srv.PublicURL())
	fmt.Fprintf(&b, "Use it from a shell:\n")
	fmt.Fprintf(&b, "  export AWS_ACCESS_KEY_ID=%s\n", c.AccessKeyID)
	fmt.Fprintf(&b, "  export AWS_SECRET_ACCESS_KEY=%s\n", secret)
	fmt.Fprintf(&b, "  export AWS_DEFAULT_REGION=%s\n", srv.Region())
	fmt.Fprintf(&b, "  aws --endpoint-url %s ivs-realtime create-stage --name stage1 --participant-token-configurations userId=alice\n", srv.PublicURL())
	fmt.Fprint(w, b.String())
}
