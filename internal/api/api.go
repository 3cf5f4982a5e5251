// Package api is the restJson1 front door of the ivs-realtime control plane: SigV4
// verification, routing, validation against AWS's model, and AWS-shaped replies. Handlers are
// short and delegate to the stage domain and the store; no other package knows AWS error names.
package api

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net/http"
	"time"

	"github.com/footlight/footlight/internal/awsmodel"
	"github.com/footlight/footlight/internal/sigv4"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
	"github.com/footlight/footlight/internal/token"
)

// Store is what the API reads and writes directly: configurations, keys and tags.
type Store interface {
	StorageConfigurations() store.Repo[store.StorageConfiguration]
	EncoderConfigurations() store.Repo[store.EncoderConfiguration]
	PublicKeys() store.Repo[store.PublicKey]
	Tags(ctx context.Context, arn string) (store.Tags, error)
	Tag(ctx context.Context, arn string, add store.Tags) error
	Untag(ctx context.Context, arn string, keys []string) error
}

// BucketChecker tells whether a bucket exists in the recording store.
type BucketChecker interface {
	BucketExists(ctx context.Context, bucket string) (bool, error)
}

// Minter signs participant tokens.
type Minter interface {
	Mint(c token.Claims) (string, error)
}

// Config wires the API. Logger nil means slog.Default is NOT used: a discard logger is.
type Config struct {
	Region   string
	Account  string
	Stages   *stage.Service
	Store    Store
	Sessions Sessions
	Minter   Minter
	Verifier *sigv4.Verifier
	// Buckets, when set, must know a storage configuration's bucket before it is created
	// (as IVS checks); nil accepts any valid name (the local store makes buckets on demand).
	Buckets BucketChecker
	// Quotas turns on IVS's account quotas and API rate limits (quota.go); off, the server
	// refuses nothing for being too much (DESIGN.md "Contracts": Quotas).
	Quotas bool
	Logger *slog.Logger
	Now    func() time.Time
}

// API serves the control plane over HTTP.
type API struct {
	cfg   Config
	model *awsmodel.Model
	log   *slog.Logger
	ops   map[string]operation // by operation name
	rates rateLimits           // nil unless cfg.Quotas
}

// New builds the API and its routing table.
func New(cfg Config) (*API, error) {
	m, err := awsmodel.Load()
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, model: m, log: cfg.Logger.With("component", "api")}
	a.ops = a.operations()
	if cfg.Quotas {
		a.rates = newRateLimits(a.ops, cfg.Now())
	}
	return a, nil
}

// Operations lists the names of the operations this API serves.
func (a *API) Operations() []string {
	names := make([]string, 0, len(a.ops))
	for n := range a.ops {
		names = append(names, n)
	}
	return names
}

// PublicKeyLookup lets the token verifier find keys imported through ImportPublicKey.
func (a *API) PublicKeyLookup() token.PublicKeys { return publicKeyLookup{a.cfg.Store} }

type publicKeyLookup struct{ s Store }

func (p publicKeyLookup) PublicKey(ctx context.Context, arn string) (*ecdsa.PublicKey, error) {
	k, err := p.s.PublicKeys().Get(ctx, arn)
	if err != nil {
		return nil, asUnknownKey(err)
	}
	return token.ParsePublicKey(k.Material)
}

var _ http.Handler = (*API)(nil)
