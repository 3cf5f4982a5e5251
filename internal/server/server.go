// Package server wires Footlight's components from one Config, in dependency order, and runs
// them: the store, the token keys, the stage domain and the HTTP front door.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/footlight/footlight/internal/api"
	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/events"
	"github.com/footlight/footlight/internal/record"
	"github.com/footlight/footlight/internal/rtc"
	"github.com/footlight/footlight/internal/sigv4"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/storage"
	"github.com/footlight/footlight/internal/store"
	"github.com/footlight/footlight/internal/token"
	"github.com/footlight/footlight/web"
)

// Config is everything `footlight serve` takes. Zero values get the documented defaults.
type Config struct {
	Listen             string        // HTTP listen address; default ":8080"
	DataDir            string        // default "footlight-data"
	Region             string        // default "us-east-1"
	AccountID          string        // default "123456789012"
	PublicURL          string        // default http://<listen address>, localhost for a wildcard host
	RTCUDPPort         int           // one UDP port for all media (and ICE-TCP); 0 picks a free one
	RTCPublicIP        string        // advertised in ICE candidates when behind NAT
	RTMPListen         string        // default ":1935"; "off" disables
	RTMPSListen        string        // default ":4443"; "off" disables
	TLSCert, TLSKey    string        // for RTMPS
	SessionGracePeriod time.Duration // default 10s
	MaxPublishers      int           // publishers per stage; default 12 (IVS's limit)
	Quotas             bool          // IVS's account quotas and API rate limits (--aws-quotas); off by default
	AccessKeyID        string        // with SecretAccessKey; both empty: made once, kept in DataDir
	SecretAccessKey    string
	// S3, when its Endpoint is set, is the S3-compatible store recordings go to; otherwise
	// they go to the local store, <DataDir>/recordings, served at /recordings/.
	S3     storage.S3Config
	FFmpeg string // the ffmpeg that makes H.264 thumbnails; default "ffmpeg" on PATH
	Logger *slog.Logger
}

// Server is a running Footlight node.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	http   *http.Server
	store  *store.SQLite
	stages *stage.Service
	creds  Credentials
	// tokens verifies participant tokens: the server's own and those signed with imported keys.
	tokens   *token.Verifier
	events   *events.Server
	sfu      *rtc.SFU
	recorder *record.Recorder
}

// New opens the data dir and binds the listener, so Addr and PublicURL are known before Run.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("make data dir: %w", err)
	}
	creds, err := credentialsOf(cfg)
	if err != nil {
		return nil, err
	}
	key, err := token.LoadOrCreateKey(filepath.Join(cfg.DataDir, "token-signing-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("token signing key: %w", err)
	}
	st, err := store.OpenSQLite(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURL(ln.Addr().(*net.TCPAddr))
	}
	stages := stage.New(stage.Config{
		Store:              st,
		Region:             cfg.Region,
		Account:            cfg.AccountID,
		Endpoints:          stage.EndpointConfig{PublicURL: cfg.PublicURL, RTMPListen: cfg.RTMPListen, RTMPSListen: cfg.RTMPSListen},
		MaxPublishers:      cfg.MaxPublishers,
		SessionGracePeriod: cfg.SessionGracePeriod,
		Logger:             log,
	})
	objects, local, err := recordingStore(cfg)
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	recorder := record.New(record.Config{
		Storage:  objects,
		Stages:   recordStages{stages, st},
		SpoolDir: filepath.Join(cfg.DataDir, "recording-spool"),
		FFmpeg:   cfg.FFmpeg,
		Logger:   log,
	})
	var buckets api.BucketChecker // the local store makes buckets on demand: nothing to check
	if local == nil {
		buckets = objects
	}
	issuer := token.NewIssuer(key)
	a, err := api.New(api.Config{
		Region:   cfg.Region,
		Account:  cfg.AccountID,
		Stages:   stages,
		Store:    st,
		Sessions: st,
		Minter:   issuer,
		Verifier: sigv4.New(sigv4.Config{Region: cfg.Region, Service: "ivs", Credentials: creds}),
		Buckets:  buckets,
		Quotas:   cfg.Quotas,
		Logger:   log,
	})
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	tokens := token.NewVerifier(issuer, a.PublicKeyLookup())
	ev := events.New(events.Config{Tokens: tokens, Stages: eventStages{stages}, Logger: log})
	mux.Handle(events.Path, ev)
	mux.Handle(events.Path+"/", ev)
	sfu, err := rtc.New(rtc.Config{
		UDPPort:  cfg.RTCUDPPort,
		PublicIP: cfg.RTCPublicIP,
		Tokens:   tokens,
		Stages:   rtcStages{stages},
		StageExists: func(ctx context.Context, stageID string) (string, error) {
			stageArn := arn.ARN{Region: cfg.Region, Account: cfg.AccountID, Type: arn.TypeStage, ID: stageID}.String()
			if _, err := stages.GetStage(ctx, stageArn); err != nil {
				return "", fmt.Errorf("%w: %w", stage.ErrNotFound, err)
			}
			return stageArn, nil
		},
		Recorder: rtcRecorder{recorder},
		Logger:   log,
	})
	if err != nil {
		ln.Close()
		st.Close()
		return nil, fmt.Errorf("media server: %w", err)
	}
	if local != nil {
		mux.Handle("/recordings/", local.Handler())
	}
	mux.Handle("/whip", sfu.Handler())
	mux.Handle("/whip/", sfu.Handler())
	// The browser pages and the JS client, GET only: POST / and the rest stay the API's.
	pages := web.Handler()
	mux.Handle("GET /{$}", pages)
	mux.Handle("GET "+web.StagesPath, pages)
	mux.Handle("GET "+web.AssetPrefix, pages)
	mux.Handle("/", a)
	s := &Server{cfg: cfg, log: log, ln: ln, store: st, stages: stages, creds: creds, tokens: tokens, events: ev, sfu: sfu, recorder: recorder}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return s, nil
}

func withDefaults(cfg Config) Config {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&cfg.Listen, ":8080")
	def(&cfg.DataDir, "footlight-data")
	def(&cfg.Region, "us-east-1")
	def(&cfg.AccountID, "123456789012")
	def(&cfg.RTMPListen, ":1935")
	def(&cfg.RTMPSListen, ":4443")
	if cfg.SessionGracePeriod == 0 {
		cfg.SessionGracePeriod = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return cfg
}

func credentialsOf(cfg Config) (Credentials, error) {
	switch {
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey != "":
		return Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}, nil
	case cfg.AccessKeyID != "" || cfg.SecretAccessKey != "":
		return Credentials{}, errors.New("set both FOOTLIGHT_ACCESS_KEY_ID and FOOTLIGHT_SECRET_ACCESS_KEY, or neither")
	}
	return loadOrCreateCredentials(cfg.DataDir)
}

// publicURL is the base advertised when --public-url is not set: the bound address, with
// localhost for a wildcard host (reachable, and a secure context for browsers).
func publicURL(addr *net.TCPAddr) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// TokenVerifier checks participant tokens for the media and events endpoints.
func (s *Server) TokenVerifier() *token.Verifier { return s.tokens }

// Addr is the bound HTTP address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// PublicURL is the base of the advertised endpoints.
func (s *Server) PublicURL() string { return s.cfg.PublicURL }

// Region is the region the server signs ARNs and verifies signatures with.
func (s *Server) Region() string { return s.cfg.Region }

// Credentials are the API key pair the server accepts.
func (s *Server) Credentials() Credentials { return s.creds }

// Run serves until ctx ends, then shuts down gracefully: in-flight requests finish (up to
// 10 s) and the store is closed last, after its last writer.
func (s *Server) Run(ctx context.Context) error {
	if err := s.stages.Recover(ctx); err != nil {
		s.store.Close()
		return err
	}
	if err := s.recorder.Recover(ctx); err != nil {
		s.store.Close()
		return err
	}
	// The domain's journal outlives HTTP so the leaves of closing connections are persisted.
	domainCtx, stopDomain := context.WithCancel(context.Background())
	domainDone := make(chan error, 1)
	go func() { domainDone <- s.stages.Run(domainCtx) }() // stopped by stopDomain below
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }() // stopped by Shutdown below
	s.log.Info("serving", "addr", s.Addr(), "rtc_udp_port", s.sfu.UDPPort(), "public_url", s.cfg.PublicURL, "data_dir", s.cfg.DataDir, "credentials", s.creds)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.http.Shutdown(sctx)
		cancel()
		<-errc
		s.events.Close() // Shutdown does not track upgraded websockets
		s.sfu.Close()    // leaves every media connection while the domain still runs
	}
	// Recordings end and upload while the domain still records their states; what a slow
	// store leaves is uploaded at the next start.
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.recorder.Close(rctx)
	cancel()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopDomain()
	return errors.Join(err, <-domainDone, s.store.Close())
}

// Stages is the stage domain (sessions, participants) of this node.
func (s *Server) Stages() *stage.Service { return s.stages }

// eventStages adapts the stage domain to the events server's narrow interface.
type eventStages struct{ s *stage.Service }

func (e eventStages) Join(ctx context.Context, p stage.JoinParams) (events.Member, error) {
	c, err := e.s.Join(ctx, p)
	if err != nil {
		return nil, err // a plain nil: a nil *stage.Conn in the interface would not be nil
	}
	return c, nil
}

func (e eventStages) Watch(stageArn string) ([]stage.ParticipantView, <-chan stage.Change, func(), error) {
	return e.s.Watch(stageArn)
}

// rtcStages adapts the stage domain to the media server's narrow interface.
type rtcStages struct{ s *stage.Service }

func (r rtcStages) Join(ctx context.Context, p stage.JoinParams) (rtc.Member, error) {
	c, err := r.s.Join(ctx, p)
	if err != nil {
		return nil, err // a plain nil, not a nil *stage.Conn in the interface
	}
	return c, nil
}

// RTCUDPPort is the bound media port.
func (s *Server) RTCUDPPort() int { return s.sfu.UDPPort() }

// recordingStore is where recordings go: the S3-compatible store when one is configured,
// else the local store in the data dir (returned as local too, to be served over HTTP).
func recordingStore(cfg Config) (storage.Store, *storage.Local, error) {
	if cfg.S3.Endpoint != "" {
		s3, err := storage.NewS3(cfg.S3)
		if err != nil {
			return nil, nil, fmt.Errorf("recording store: %w", err)
		}
		return s3, nil, nil
	}
	local := storage.NewLocal(filepath.Join(cfg.DataDir, "recordings"))
	return local, local, nil
}
