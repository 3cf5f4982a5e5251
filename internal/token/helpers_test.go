package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

const (
	testStageArn = "arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh"
	testStageID  = "abcdABCDefgh"
	testKeyArn   = "arn:aws:ivs:us-east-1:123456789012:public-key/abcdABCD1234"
)

// t0 is a whole second, since tokens carry whole seconds.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newIssuer(t testing.TB) *token.Issuer {
	t.Helper()
	return token.NewIssuer(newKey(t, elliptic.P384()))
}

func sampleClaims() token.Claims {
	return token.Claims{
		ParticipantID: "p4rt1c1p4nt-_ID",
		StageArn:      testStageArn,
		StageID:       testStageID,
		UserID:        "user-42",
		Attributes:    map[string]string{"displayName": "Sam", "emoji": "🎬"},
		Publish:       true,
		Subscribe:     false,
		EventsURL:     "wss://footlight.example/events",
		WhipURL:       "https://footlight.example/whip",
		IssuedAt:      t0,
		ExpiresAt:     t0.Add(12 * time.Hour),
	}
}

// payload is sampleClaims as a raw IVS payload, for tokens built by hand.
func payload() map[string]any {
	return map[string]any{
		"exp":          t0.Add(12 * time.Hour).Unix(),
		"iat":          t0.Unix(),
		"jti":          "p4rt1c1p4nt-_ID",
		"resource":     testStageArn,
		"topic":        testStageID,
		"events_url":   "wss://footlight.example/events",
		"whip_url":     "https://footlight.example/whip",
		"user_id":      "user-42",
		"attributes":   map[string]any{"displayName": "Sam"},
		"capabilities": map[string]any{"allow_publish": true, "allow_subscribe": true},
		"version":      "1.0",
	}
}

// with returns a copy of p with key set to v, or removed when v is nil.
func with(p map[string]any, key string, v any) map[string]any {
	q := maps.Clone(p)
	if v == nil {
		delete(q, key)
	} else {
		q[key] = v
	}
	return q
}

// sign signs claims the way a customer would: golang-jwt directly.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// raw assembles a token from JSON parts without signing.
func raw(header, claims, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + sig
}

func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func decodeSegment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// keyStore is a map-backed PublicKeys, standing in for the database.
type keyStore struct {
	mu   sync.Mutex
	keys map[string]*ecdsa.PublicKey
	err  error // when set, every lookup fails with it
}

func newKeyStore() *keyStore { return &keyStore{keys: map[string]*ecdsa.PublicKey{}} }

func (s *keyStore) PublicKey(_ context.Context, arn string) (*ecdsa.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	k, ok := s.keys[arn]
	if !ok {
		return nil, fmt.Errorf("public key %s: %w", arn, token.ErrUnknownKey)
	}
	return k, nil
}

func (s *keyStore) put(arn string, k *ecdsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[arn] = k
}

func (s *keyStore) remove(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, arn)
}
