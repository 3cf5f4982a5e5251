package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// serverFixture is an Issuer, a Verifier for it, and a valid minted token.
type serverFixture struct {
	key *ecdsa.PrivateKey
	iss *token.Issuer
	v   *token.Verifier
	tok string
}

func newServerFixture(t testing.TB) serverFixture {
	t.Helper()
	key := newKey(t, elliptic.P384())
	iss := token.NewIssuer(key)
	tok, err := iss.Mint(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	return serverFixture{key: key, iss: iss, v: token.NewVerifier(iss, nil), tok: tok}
}

// tamperPayload re-encodes tok's payload after changing one claim, keeping the
// original header and signature.
func tamperPayload(t *testing.T, tok, key string, value any) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	p := decodeSegment(t, tok, 1)
	p[key] = value
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func TestVerifyServerTokens(t *testing.T) {
	f := newServerFixture(t)
	serverKey := f.iss.PublicKey()
	otherKey := newKey(t, elliptic.P384())
	p256Key := newKey(t, elliptic.P256())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid := f.iss.KeyID()
	exp := t0.Add(12 * time.Hour)
	parts := strings.Split(f.tok, ".")
	flipped := []byte(parts[2])
	flipped[10] = 'A'
	if parts[2][10] == 'A' {
		flipped[10] = 'B'
	}

	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error // nil means accepted
	}{
		{"valid", f.tok, t0, nil},
		{"one second before exp", f.tok, exp.Add(-time.Second), nil},
		{"at exp", f.tok, exp, token.ErrExpired},
		{"after exp", f.tok, exp.Add(time.Hour), token.ErrExpired},
		{"before iat is accepted", f.tok, t0.Add(-time.Minute), nil},

		{"tampered payload", tamperPayload(t, f.tok, "capabilities", map[string]any{"allow_publish": true, "allow_subscribe": true}), t0, token.ErrSignature},
		{"tampered user", tamperPayload(t, f.tok, "user_id", "admin"), t0, token.ErrSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(flipped), t0, token.ErrSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:64], t0, token.ErrSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", t0, token.ErrSignature},
		{"other key, server kid", sign(t, jwt.SigningMethodES384, otherKey, kid, payload()), t0, token.ErrSignature},
		{"hand-built valid claims, server key", sign(t, jwt.SigningMethodES384, f.key, kid, payload()), t0, nil},

		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, payload()), t0, token.ErrAlgorithm},
		{"alg none, no signature", raw(`{"alg":"none","typ":"JWT"}`, mustJSON(t, payload()), ""), t0, token.ErrAlgorithm},
		{"alg NONE", raw(`{"alg":"NONE","kid":"`+kid+`"}`, mustJSON(t, payload()), ""), t0, token.ErrAlgorithm},
		{"HS384 keyed with public key PEM", sign(t, jwt.SigningMethodHS384, []byte(publicPEM(t, serverKey)), kid, payload()), t0, token.ErrAlgorithm},
		{"HS256 keyed with public key PEM", sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, serverKey)), kid, payload()), t0, token.ErrAlgorithm},
		{"ES256", sign(t, jwt.SigningMethodES256, p256Key, kid, payload()), t0, token.ErrAlgorithm},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, kid, payload()), t0, token.ErrAlgorithm},
		{"unknown alg", raw(`{"alg":"XY999","kid":"`+kid+`"}`, mustJSON(t, payload()), "c2ln"), t0, token.ErrAlgorithm},
		{"alg none with bad claims", raw(`{"alg":"none"}`, `{"exp":"soon"}`, ""), t0, token.ErrAlgorithm},

		{"no kid", sign(t, jwt.SigningMethodES384, f.key, "", payload()), t0, token.ErrUnknownKey},
		{"unknown kid", sign(t, jwt.SigningMethodES384, f.key, "footlight-0000000000000000", payload()), t0, token.ErrUnknownKey},
		{"public key arn without store", sign(t, jwt.SigningMethodES384, f.key, testKeyArn, payload()), t0, token.ErrUnknownKey},
		{"kid not a string", raw(`{"alg":"ES384","kid":7}`, mustJSON(t, payload()), parts[2]), t0, token.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.v.Verify(context.Background(), tt.token, tt.now)
			checkErr(t, err, tt.want)
			if tt.want == nil && got.KeyID != kid {
				t.Errorf("KeyID = %q, want %q", got.KeyID, kid)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	f := newServerFixture(t)
	key, kid := f.key, f.iss.KeyID()
	es384 := func(claims map[string]any) string { return sign(t, jwt.SigningMethodES384, key, kid, claims) }
	header := `{"alg":"ES384","typ":"JWT","kid":"` + kid + `"}`
	sig := strings.Split(f.tok, ".")[2]

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"word", "hello"},
		{"two segments", "a.b"},
		{"four segments", f.tok + ".x"},
		{"dots", "...."},
		{"bad base64 header", "a.b.c"},
		{"header not json", raw("not json", mustJSON(t, payload()), sig)},
		{"header is array", raw("[]", mustJSON(t, payload()), sig)},
		{"header without alg", raw(`{"typ":"JWT","kid":"`+kid+`"}`, mustJSON(t, payload()), sig)},
		{"alg not a string", raw(`{"alg":384,"kid":"`+kid+`"}`, mustJSON(t, payload()), sig)},
		{"payload not json", raw(header, "not json", sig)},
		{"payload is array", raw(header, "[]", sig)},
		{"payload bad base64", strings.Replace(f.tok, ".", ".!", 1)},
		{"signature bad base64", f.tok + "!"},
		{"padded segments", strings.Replace(f.tok, ".", "==.", 1)},
		{"payload null", es384Raw(t, key, header, "null")},
		{"payload empty object", es384(map[string]any{})},

		{"exp string", es384(with(payload(), "exp", "1748822400"))},
		{"exp negative", es384(with(payload(), "exp", -5))},
		{"exp huge", es384(with(payload(), "exp", 1e300))},
		{"iat bool", es384(with(payload(), "iat", true))},
		{"jti number", es384(with(payload(), "jti", 12))},
		{"attributes array", es384(with(payload(), "attributes", []string{"a"}))},
		{"attribute value number", es384(with(payload(), "attributes", map[string]any{"a": 1}))},
		{"capabilities array", es384(with(payload(), "capabilities", []string{"PUBLISH"}))},
		{"allow_publish string", es384(with(payload(), "capabilities", map[string]any{"allow_publish": "yes"}))},
		{"user_id number", es384(with(payload(), "user_id", 5))},

		{"topic/resource mismatch", es384(with(payload(), "topic", "otherStage12"))},
		{"resource not an arn", es384(with(payload(), "resource", "abcdABCDefgh"))},
		{"resource not a stage", es384(with(payload(), "resource", "arn:aws:ivs:us-east-1:123456789012:channel/abcdABCDefgh"))},
		{"resource other service", es384(with(payload(), "resource", "arn:aws:s3:us-east-1:123456789012:stage/abcdABCDefgh"))},
		{"resource empty region", es384(with(payload(), "resource", "arn:aws:ivs::123456789012:stage/abcdABCDefgh"))},
		{"resource nested id", es384(with(with(payload(), "resource", "arn:aws:ivs:us-east-1:123456789012:stage/a/b"), "topic", "a/b"))},
		{"version 2.0", es384(with(payload(), "version", "2.0"))},
		{"version number", es384(with(payload(), "version", 1.0))},
		{"jti too long", es384(with(payload(), "jti", strings.Repeat("j", 65)))},
		{"jti bad character", es384(with(payload(), "jti", "abc.def"))},
		{"jti empty", es384(with(payload(), "jti", ""))},
		{"user_id 129 characters", es384(with(payload(), "user_id", strings.Repeat("é", 129)))},
		{"attributes over 1 KB", es384(with(payload(), "attributes", map[string]any{"k": strings.Repeat("v", 1024)}))},
		{"events_url empty", es384(with(payload(), "events_url", ""))},
		{"attributes null", es384(with(payload(), "attributes", json.RawMessage("null")))},
		{"capabilities null", es384(with(payload(), "capabilities", json.RawMessage("null")))},
		{"exp null", es384(with(payload(), "exp", json.RawMessage("null")))},
	}
	for _, claim := range []string{"exp", "iat", "jti", "resource", "topic", "events_url", "whip_url", "attributes", "capabilities", "version"} {
		tests = append(tests, struct {
			name  string
			token string
		}{"missing " + claim, es384(with(payload(), claim, nil))})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Verify(context.Background(), tt.token, t0)
			checkErr(t, err, token.ErrMalformed)
		})
	}
}

// TestVerifyLimits shows the documented limits are inclusive.
func TestVerifyLimits(t *testing.T) {
	f := newServerFixture(t)
	es384 := func(claims map[string]any) string {
		return sign(t, jwt.SigningMethodES384, f.key, f.iss.KeyID(), claims)
	}
	tests := []struct {
		name  string
		token string
		check func(*token.Claims) bool
	}{
		{"no user_id", es384(with(payload(), "user_id", nil)), func(c *token.Claims) bool { return c.UserID == "" }},
		{"empty user_id", es384(with(payload(), "user_id", "")), func(c *token.Claims) bool { return c.UserID == "" }},
		{"user_id 128 characters", es384(with(payload(), "user_id", strings.Repeat("é", 128))), func(c *token.Claims) bool { return len(c.UserID) == 256 }},
		{"jti 64 characters", es384(with(payload(), "jti", strings.Repeat("a-_Z9", 12)+"abcd")), func(c *token.Claims) bool { return len(c.ParticipantID) == 64 }},
		{"attributes exactly 1 KB", es384(with(payload(), "attributes", map[string]any{"k": strings.Repeat("v", 1023)})), func(c *token.Claims) bool { return len(c.Attributes["k"]) == 1023 }},
		{"capabilities empty object", es384(with(payload(), "capabilities", map[string]any{})), func(c *token.Claims) bool { return !c.Publish && !c.Subscribe }},
		{"fractional dates floor", es384(with(with(payload(), "iat", float64(t0.Unix())+0.9), "exp", float64(t0.Unix())+60.9)), func(c *token.Claims) bool {
			return c.IssuedAt.Equal(t0) && c.ExpiresAt.Equal(t0.Add(time.Minute))
		}},
		{"unknown claims ignored", es384(with(payload(), "nbf", 1)), func(c *token.Claims) bool { return c.StageID == testStageID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), tt.token, t0)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected claims %+v", c)
			}
		})
	}
}

func TestVerifyServerLifetime(t *testing.T) {
	f := newServerFixture(t)
	es384 := func(claims map[string]any) string {
		return sign(t, jwt.SigningMethodES384, f.key, f.iss.KeyID(), claims)
	}
	tests := []struct {
		name string
		exp  time.Time
		want error
	}{
		{"exp equals iat", t0, token.ErrLifetime},
		{"exp before iat", t0.Add(-time.Hour), token.ErrLifetime},
		// The 14-day cap is for customer tokens; server durations were
		// checked when the token was minted.
		{"30 days", t0.Add(30 * 24 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Verify(context.Background(), es384(with(payload(), "exp", tt.exp.Unix())), t0.Add(-2*time.Hour))
			checkErr(t, err, tt.want)
		})
	}
}

func TestVerifyCustomerTokens(t *testing.T) {
	serverKey := newKey(t, elliptic.P384())
	iss := token.NewIssuer(serverKey)
	store := newKeyStore()
	v := token.NewVerifier(iss, store)
	customer := newKey(t, elliptic.P384())
	pub, err := token.ParsePublicKey(publicPEM(t, &customer.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	store.put(testKeyArn, pub)
	const otherAccountKey = "arn:aws:ivs:us-east-1:999999999999:public-key/abcdABCD1234"
	const otherRegionKey = "arn:aws:ivs:eu-west-1:123456789012:public-key/abcdABCD1234"
	store.put(otherAccountKey, pub)
	store.put(otherRegionKey, pub)
	customerToken := func(kid string, claims map[string]any) string {
		return sign(t, jwt.SigningMethodES384, customer, kid, claims)
	}
	iat := t0.Unix()

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", customerToken(testKeyArn, payload()), nil},
		{"no user_id", customerToken(testKeyArn, with(payload(), "user_id", nil)), nil},
		{"exactly 14 days", customerToken(testKeyArn, with(payload(), "exp", iat+14*24*3600)), nil},
		{"14 days and a second", customerToken(testKeyArn, with(payload(), "exp", iat+14*24*3600+1)), token.ErrLifetime},
		{"a year", customerToken(testKeyArn, with(payload(), "exp", iat+365*24*3600)), token.ErrLifetime},
		{"exp equals iat", customerToken(testKeyArn, with(payload(), "exp", iat)), token.ErrLifetime},
		{"missing topic", customerToken(testKeyArn, with(payload(), "topic", nil)), token.ErrMalformed},
		{"signed by the server key under the customer kid", sign(t, jwt.SigningMethodES384, serverKey, testKeyArn, payload()), token.ErrSignature},
		{"customer key under the server kid", customerToken(iss.KeyID(), payload()), token.ErrSignature},
		{"unimported key", customerToken("arn:aws:ivs:us-east-1:123456789012:public-key/zzzzzzzzzzzz", payload()), token.ErrUnknownKey},
		{"kid not an arn", customerToken("my-key", payload()), token.ErrUnknownKey},
		{"kid is a stage arn", customerToken(testStageArn, payload()), token.ErrUnknownKey},
		{"key of another account", customerToken(otherAccountKey, payload()), token.ErrUnknownKey},
		{"key of another region", customerToken(otherRegionKey, payload()), token.ErrUnknownKey},
		{"HS384 keyed with the imported PEM", sign(t, jwt.SigningMethodHS384, []byte(publicPEM(t, pub)), testKeyArn, payload()), token.ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token, t0.Add(time.Minute))
			checkErr(t, err, tt.want)
			if tt.want == nil && c.KeyID != testKeyArn {
				t.Errorf("KeyID = %q, want %q", c.KeyID, testKeyArn)
			}
		})
	}

	t.Run("claims", func(t *testing.T) {
		c, err := v.Verify(context.Background(), customerToken(testKeyArn, payload()), t0)
		if err != nil {
			t.Fatal(err)
		}
		if c.ParticipantID != "p4rt1c1p4nt-_ID" || c.StageArn != testStageArn || c.StageID != testStageID ||
			!c.Publish || !c.Subscribe || c.UserID != "user-42" || c.Attributes["displayName"] != "Sam" ||
			!c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
			t.Errorf("claims = %+v", c)
		}
	})

	t.Run("after the key is deleted", func(t *testing.T) {
		tok := customerToken(testKeyArn, payload())
		if _, err := v.Verify(context.Background(), tok, t0); err != nil {
			t.Fatalf("before deletion: %v", err)
		}
		store.remove(testKeyArn)
		defer store.put(testKeyArn, pub)
		_, err := v.Verify(context.Background(), tok, t0)
		checkErr(t, err, token.ErrUnknownKey)
	})
}

func TestVerifyKeyStoreFailure(t *testing.T) {
	iss := newIssuer(t)
	store := newKeyStore()
	down := errors.New("database is down")
	store.err = down
	v := token.NewVerifier(iss, store)
	customer := newKey(t, elliptic.P384())
	tok := sign(t, jwt.SigningMethodES384, customer, testKeyArn, payload())
	_, err := v.Verify(context.Background(), tok, t0)
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	for _, s := range []error{token.ErrUnknownKey, token.ErrSignature, token.ErrMalformed} {
		if errors.Is(err, s) {
			t.Errorf("store failure reported as %v", s)
		}
	}
	// Server tokens never touch the store.
	mine, err := iss.Mint(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), mine, t0); err != nil {
		t.Errorf("server token with store down: %v", err)
	}
}

func TestVerifyStoredKeyNotP384(t *testing.T) {
	store := newKeyStore()
	wrong := newKey(t, elliptic.P256())
	store.put(testKeyArn, &wrong.PublicKey)
	v := token.NewVerifier(newIssuer(t), store)
	tok := sign(t, jwt.SigningMethodES384, newKey(t, elliptic.P384()), testKeyArn, payload())
	_, err := v.Verify(context.Background(), tok, t0)
	checkErr(t, err, token.ErrKeyType)
}

// TestErrorsCarryNoTokenText guards the promise that errors are safe to log.
func TestErrorsCarryNoTokenText(t *testing.T) {
	f := newServerFixture(t)
	parts := strings.Split(f.tok, ".")
	secretUser := "secret-user-value"
	inputs := []string{
		tamperPayload(t, f.tok, "user_id", secretUser),
		parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:],
		raw(`{"alg":"HS999-`+secretUser+`"}`, mustJSON(t, payload()), "x"),
		raw(`{"alg":"ES384","kid":"`+secretUser+`"}`, mustJSON(t, payload()), parts[2]),
		raw(`{"alg":"ES384"}`, `{"exp":"`+secretUser+`"}`, parts[2]),
		raw(`{"alg":"ES384"}`, `{"attributes":{"`+secretUser+`":5}}`, parts[2]),
		raw(`{"alg":"ES384"}`, `{"exp":1e999}`, parts[2]),
		"not-a-token-" + secretUser,
	}
	for _, in := range inputs {
		_, err := f.v.Verify(context.Background(), in, t0)
		if err == nil {
			t.Fatal("accepted a bad token")
		}
		msg := err.Error()
		if strings.Contains(msg, secretUser) || strings.Contains(msg, parts[1][:20]) || strings.Contains(msg, parts[2][:20]) || strings.Contains(msg, "1e999") {
			t.Errorf("error quotes the token: %q", msg)
		}
	}
}

func TestVerifyConcurrent(t *testing.T) {
	f := newServerFixture(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := f.v.Verify(context.Background(), f.tok, t0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	f := newServerFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Verify(ctx, f.tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCustomer(b *testing.B) {
	store := newKeyStore()
	customer := newKey(b, elliptic.P384())
	store.put(testKeyArn, &customer.PublicKey)
	v := token.NewVerifier(newIssuer(b), store)
	tok := sign(b, jwt.SigningMethodES384, customer, testKeyArn, payload())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	iss := newIssuer(b)
	c := sampleClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Mint(c); err != nil {
			b.Fatal(err)
		}
	}
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Verify: unexpected error %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Verify error = %v, want %v", err, want)
	}
}

// es384Raw signs a payload given as raw JSON text, for payloads MapClaims
// cannot express.
func es384Raw(t testing.TB, key *ecdsa.PrivateKey, header, claims string) string {
	t.Helper()
	unsigned := strings.TrimSuffix(raw(header, claims, ""), ".")
	sig, err := jwt.SigningMethodES384.Sign(unsigned, key)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
