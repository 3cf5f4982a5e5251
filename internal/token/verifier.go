package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// PublicKeys finds a customer key imported with ImportPublicKey, by its ARN.
// It returns an error wrapping ErrUnknownKey when there is none (e.g. deleted).
type PublicKeys interface {
	PublicKey(ctx context.Context, arn string) (*ecdsa.PublicKey, error)
}

// Verifier checks participant tokens. It is safe for concurrent use.
type Verifier struct {
	issuer *Issuer
	keys   PublicKeys
	parser *jwt.Parser
}

// NewVerifier accepts tokens signed by issuer's key and, through keys (may be
// nil), imported keys.
func NewVerifier(issuer *Issuer, keys PublicKeys) *Verifier {
	return &Verifier{
		issuer: issuer,
		keys:   keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodES384.Alg()}),
			// Expiry is judged against Verify's now, not the library's clock.
			jwt.WithoutClaimsValidation(),
			// Canonical base64 only, so one token has one spelling.
			jwt.WithStrictDecoding(),
		),
	}
}

// Verify checks signature, algorithm, claims and expiry at now, returning the
// claims. Errors wrap this package's sentinels, except that a failure of the
// PublicKeys lookup other than ErrUnknownKey is returned wrapped as it is, so
// callers can tell "bad token" from "key store down".
func (v *Verifier) Verify(ctx context.Context, token string, now time.Time) (*Claims, error) {
	var w wireClaims
	var keyErr error
	t, err := v.parser.ParseWithClaims(token, &w, func(t *jwt.Token) (any, error) {
		pub, err := v.key(ctx, t.Header)
		keyErr = err
		return pub, err
	})
	if err != nil {
		if keyErr != nil {
			return nil, keyErr
		}
		return nil, classify(t, err)
	}
	kid, _ := t.Header["kid"].(string) // v.key accepted it, so it is a string
	return v.checkClaims(&w, kid, now)
}

// key returns the public key named by the header's kid: the server's own, or
// an imported one looked up through v.keys.
func (v *Verifier) key(ctx context.Context, header map[string]any) (*ecdsa.PublicKey, error) {
	kid, _ := header["kid"].(string)
	if kid == "" {
		return nil, fmt.Errorf("%w: header has no kid", ErrUnknownKey)
	}
	if kid == v.issuer.kid {
		return v.issuer.PublicKey(), nil
	}
	// Only public-key ARNs can name imported keys; anything else is not
	// worth a trip to the store.
	if v.keys == nil || !isPublicKeyARN(kid) {
		return nil, fmt.Errorf("%w: kid is not a known key", ErrUnknownKey)
	}
	pub, err := v.keys.PublicKey(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("token: look up public key: %w", err)
	}
	if pub == nil || pub.Curve != elliptic.P384() {
		return nil, fmt.Errorf("%w: stored public key is not P-384", ErrKeyType)
	}
	return pub, nil
}

// checkClaims applies the checks that need a verified payload: claim shape,
// the key's account, lifetime, and finally expiry at now.
func (v *Verifier) checkClaims(w *wireClaims, kid string, now time.Time) (*Claims, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	selfSigned := kid != v.issuer.kid
	if selfSigned {
		// An imported key speaks only for stages of its own account and
		// region, as in IVS.
		keyScope, _, _ := splitARN(kid)
		stageScope, _, _ := splitARN(w.Resource)
		if keyScope != stageScope {
			return nil, fmt.Errorf("%w: public key belongs to another account or region than the stage", ErrUnknownKey)
		}
	}
	if err := w.checkLifetime(selfSigned); err != nil {
		return nil, err
	}
	c := w.claims()
	if !now.Before(c.ExpiresAt) {
		return nil, fmt.Errorf("%w: exp has passed", ErrExpired)
	}
	c.KeyID = kid
	return c, nil
}

// isPublicKeyARN reports whether s looks like arn:<partition>:ivs:<region>:<account>:public-key/<id>.
func isPublicKeyARN(s string) bool {
	_, res, ok := splitARN(s)
	if !ok {
		return false
	}
	id, ok := strings.CutPrefix(res, "public-key/")
	return ok && isID(id, maxStageID)
}

// classify maps a golang-jwt error to this package's sentinels. The header is
// judged first: a wrong alg is ErrAlgorithm whatever else is wrong, so attacks
// are reported as such. jwt's own messages are dropped because they can quote
// token text.
func classify(t *jwt.Token, err error) error {
	if t == nil {
		return malformed("not a JWT (want three dot-separated segments)")
	}
	if t.Header == nil {
		return malformed("header is not base64url-encoded JSON")
	}
	alg, ok := t.Header["alg"].(string)
	if !ok {
		return malformed("header has no alg")
	}
	if alg != jwt.SigningMethodES384.Alg() {
		return fmt.Errorf("%w: only ES384 is accepted", ErrAlgorithm)
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		return fmt.Errorf("%w: signature does not verify", ErrSignature)
	}
	return malformed(decodeDetail(err))
}

// decodeDetail describes a payload decoding failure by claim name only.
func decodeDetail(err error) string {
	if errors.Is(err, errNumericDate) {
		return errNumericDate.Error()
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		// Field is a path into the payload; keep its first element, and
		// only when it is one of our claim names, since map keys could
		// appear later in the path.
		name, _, _ := strings.Cut(typeErr.Field, ".")
		if name == "" {
			return "payload is not a JSON object"
		}
		if isClaimName(name) {
			return "claim " + name + " has the wrong type"
		}
		return "a claim has the wrong type"
	}
	return "payload or signature is not base64url-encoded JSON"
}

func isClaimName(s string) bool {
	switch s {
	case "exp", "iat", "jti", "resource", "topic", "events_url", "whip_url",
		"user_id", "attributes", "capabilities", "version":
		return true
	}
	return false
}
