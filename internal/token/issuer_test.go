package token_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/token"
)

func TestMintVerifyRoundTrip(t *testing.T) {
	iss := newIssuer(t)
	v := token.NewVerifier(iss, nil)
	tests := []struct {
		name   string
		modify func(*token.Claims)
	}{
		{"all claims", func(*token.Claims) {}},
		{"no user id", func(c *token.Claims) { c.UserID = "" }},
		{"subscribe only", func(c *token.Claims) { c.Publish, c.Subscribe = false, true }},
		{"no capabilities", func(c *token.Claims) { c.Publish, c.Subscribe = false, false }},
		{"empty attributes", func(c *token.Claims) { c.Attributes = map[string]string{} }},
		{"key id ignored", func(c *token.Claims) { c.KeyID = "something-else" }},
		{"14 days", func(c *token.Claims) { c.ExpiresAt = c.IssuedAt.Add(14 * 24 * time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleClaims()
			tt.modify(&in)
			tok, err := iss.Mint(in)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			got, err := v.Verify(context.Background(), tok, in.IssuedAt.Add(time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := in
			want.KeyID = iss.KeyID()
			if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("times = %v..%v, want %v..%v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
			}
			got.IssuedAt, got.ExpiresAt = want.IssuedAt, want.ExpiresAt
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("claims = %+v\nwant     %+v", *got, want)
			}
		})
	}
}

func TestMintNilAttributesBecomesEmptyObject(t *testing.T) {
	iss := newIssuer(t)
	c := sampleClaims()
	c.Attributes = nil
	tok, err := iss.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := token.NewVerifier(iss, nil).Verify(context.Background(), tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attributes == nil || len(got.Attributes) != 0 {
		t.Errorf("attributes = %#v, want empty map", got.Attributes)
	}
}

// TestMintWireFormat pins the token to the shape IVS produces.
func TestMintWireFormat(t *testing.T) {
	iss := newIssuer(t)
	tok, err := iss.Mint(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	header := decodeSegment(t, tok, 0)
	wantHeader := map[string]any{"alg": "ES384", "typ": "JWT", "kid": iss.KeyID()}
	if !reflect.DeepEqual(header, wantHeader) {
		t.Errorf("header = %v, want %v", header, wantHeader)
	}
	p := decodeSegment(t, tok, 1)
	keys := slices.Sorted(maps.Keys(p))
	wantKeys := []string{"attributes", "capabilities", "events_url", "exp", "iat", "jti", "resource", "topic", "user_id", "version", "whip_url"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("claims = %v, want %v", keys, wantKeys)
	}
	for _, k := range []string{"exp", "iat"} {
		n, ok := p[k].(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			t.Errorf("%s = %v, want an integer NumericDate", k, p[k])
		}
	}
	if p["exp"].(json.Number).String() != "1748822400" {
		t.Errorf("exp = %v, want 1748822400", p["exp"])
	}
	if p["version"] != "1.0" {
		t.Errorf("version = %v", p["version"])
	}
	caps := p["capabilities"].(map[string]any)
	if caps["allow_publish"] != true || caps["allow_subscribe"] != false {
		t.Errorf("capabilities = %v", caps)
	}
	sig := strings.Split(tok, ".")[2]
	if len(sig) != 128 { // 96 bytes of r||s, base64url without padding
		t.Errorf("signature is %d characters, want 128", len(sig))
	}
}

func TestIssuerKeyID(t *testing.T) {
	key := newKey(t, elliptic.P384())
	a, b := token.NewIssuer(key), token.NewIssuer(key)
	if a.KeyID() != b.KeyID() {
		t.Errorf("kid not stable: %q vs %q", a.KeyID(), b.KeyID())
	}
	if !regexp.MustCompile(`^footlight-[0-9a-f]{16}$`).MatchString(a.KeyID()) {
		t.Errorf("kid = %q", a.KeyID())
	}
	if other := newIssuer(t); other.KeyID() == a.KeyID() {
		t.Error("different keys share a kid")
	}
	if !a.PublicKey().Equal(&key.PublicKey) {
		t.Error("PublicKey is not the key's public half")
	}
}

func TestMintRejects(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name   string
		modify func(*token.Claims)
		want   error
	}{
		{"no issued at", func(c *token.Claims) { c.IssuedAt = time.Time{} }, token.ErrMalformed},
		{"no expires at", func(c *token.Claims) { c.ExpiresAt = time.Time{} }, token.ErrMalformed},
		{"expires at issue", func(c *token.Claims) { c.ExpiresAt = c.IssuedAt }, token.ErrLifetime},
		{"expires before issue", func(c *token.Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Hour) }, token.ErrLifetime},
		{"empty participant id", func(c *token.Claims) { c.ParticipantID = "" }, token.ErrMalformed},
		{"bad participant id", func(c *token.Claims) { c.ParticipantID = "a/b" }, token.ErrMalformed},
		{"stage mismatch", func(c *token.Claims) { c.StageID = "other" }, token.ErrMalformed},
		{"not a stage arn", func(c *token.Claims) { c.StageArn = "stage/abcdABCDefgh" }, token.ErrMalformed},
		{"no whip url", func(c *token.Claims) { c.WhipURL = "" }, token.ErrMalformed},
		{"long user id", func(c *token.Claims) { c.UserID = strings.Repeat("u", 129) }, token.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleClaims()
			tt.modify(&c)
			tok, err := iss.Mint(c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Mint error = %v, want %v", err, tt.want)
			}
			if tok != "" {
				t.Error("Mint returned a token along with an error")
			}
		})
	}
}

func TestMintRejectsNonP384Key(t *testing.T) {
	iss := token.NewIssuer(newKey(t, elliptic.P256()))
	if _, err := iss.Mint(sampleClaims()); err == nil {
		t.Fatal("Mint with a P-256 key succeeded")
	}
}
