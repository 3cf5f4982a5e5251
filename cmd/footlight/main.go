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
type flagSpec struct {
	name, env, def, usage string
	set                   func(cfg *server.Config, v string) error
}

func str(dst func(*server.Config) *string) func(*server.Config, string) error {
	return func(c *server.Config, v string) error { *dst(c) = v; return nil }
}

// flags is the one table of serve's flags (DESIGN.md "Contracts").
var flags = []flagSpec{
	{"listen", "FOOTLIGHT_LISTEN", ":8080", "HTTP listen address: API, WHIP/WHEP, events, console, health", str(func(c *server.Config) *string { return &c.Listen })},
	{"data-dir", "FOOTLIGHT_DATA_DIR", "footlight-data", "directory for the SQLite database, keys, credentials and local recordings", str(func(c *server.Config) *string { return &c.DataDir })},
	{"region", "FOOTLIGHT_REGION", "us-east-1", "AWS region in ARNs and the SigV4 credential scope", str(func(c *server.Config) *string { return &c.Region })},
	{"account-id", "FOOTLIGHT_ACCOUNT_ID", "123456789012", "AWS account id in ARNs", str(func(c *server.Config) *string { return &c.AccountID })},
	{"public-url", "FOOTLIGHT_PUBLIC_URL", "", "base URL advertised in stage endpoints and tokens (default http://<listen address>)", str(func(c *server.Config) *string { return &c.PublicURL })},
	{"rtc-udp-port", "FOOTLIGHT_RTC_UDP_PORT", "7900", "the one UDP port all WebRTC media uses", func(c *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("--rtc-udp-port: %q is not a port", v)
		}
		c.RTCUDPPort = n
		return nil
	}},
	{"rtc-public-ip", "FOOTLIGHT_RTC_PUBLIC_IP", "", "IP advertised in ICE candidates when behind NAT", str(func(c *server.Config) *string { return &c.RTCPublicIP })},
	{"rtmp-listen", "FOOTLIGHT_RTMP_LISTEN", ":1935", `RTMP ingest listen address, or "off"`, str(func(c *server.Config) *string { return &c.RTMPListen })},
	{"rtmps-listen", "FOOTLIGHT_RTMPS_LISTEN", ":4443", `RTMPS ingest listen address, or "off"`, str(func(c *server.Config) *string { return &c.RTMPSListen })},
	{"tls-cert", "FOOTLIGHT_TLS_CERT", "", "TLS certificate (PEM) for RTMPS", str(func(c *server.Config) *string { return &c.TLSCert })},
	{"tls-key", "FOOTLIGHT_TLS_KEY", "", "TLS private key (PEM) for RTMPS", str(func(c *server.Config) *string { return &c.TLSKey })},
	{"session-grace-period", "FOOTLIGHT_SESSION_GRACE_PERIOD", "10s", "how long a stage session outlives its last participant", func(c *server.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("--session-grace-period: %q is not a duration", v)
		}
		c.SessionGracePeriod = d
		return nil
	}},
	{"max-publishers", "FOOTLIGHT_MAX_PUBLISHERS", "12", "publishers allowed per stage (IVS allows 12)", func(c *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("--max-publishers: %q is not a positive number", v)
		}
		c.MaxPublishers = n
		return nil
	}},
	{"s3-endpoint", "FOOTLIGHT_S3_ENDPOINT", "", "S3-compatible endpoint recordings go to (empty: the local store in the data dir, served at /recordings/)", str(func(c *server.Config) *string { return &c.S3.Endpoint })},
	{"s3-region", "FOOTLIGHT_S3_REGION", "us-east-1", "region the S3 requests are signed for", str(func(c *server.Config) *string { return &c.S3.Region })},
	{"s3-path-style", "FOOTLIGHT_S3_PATH_STYLE", "true", "address buckets as <endpoint>/<bucket> (most self-hosted stores need it)", func(c *server.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--s3-path-style: %q is not true or false", v)
		}
		c.S3.PathStyle = b
		return nil
	}},
	{"log-level", "FOOTLIGHT_LOG_LEVEL", "info", "debug, info, warn or error", func(c *server.Config, v string) error { return nil }},
}

// serveFlags builds the flag set; values start from the environment twins, then the defaults.
func serveFlags() (*flag.FlagSet, map[string]*string, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	values := map[string]*string{}
	for _, f := range flags {
		def := f.def
		if v, ok := os.LookupEnv(f.env); ok {
			def = v
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
	var cfg server.Config
	for _, f := range flags {
		if err := f.set(&cfg, *values[f.name]); err != nil {
			return err
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*values["log-level"])); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
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
	fmt.Fprintf(&b, "Use it from a shell:\n")
	fmt.Fprintf(&b, "  export AWS_ACCESS_KEY_ID=%s\n", c.AccessKeyID)
	fmt.Fprintf(&b, "  export AWS_SECRET_ACCESS_KEY=%s\n", secret)
	fmt.Fprintf(&b, "  export AWS_DEFAULT_REGION=%s\n", srv.Region())
	fmt.Fprintf(&b, "  aws --endpoint-url %s ivs-realtime create-stage --name stage1 --participant-token-configurations userId=alice\n", srv.PublicURL())
	fmt.Fprint(w, b.String())
}
