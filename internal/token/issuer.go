package token

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// serverKeyPrefix starts every server kid. It contains no ':', so it can never
// collide with a public-key ARN.
const serverKeyPrefix = "footlight-"

// Issuer mints participant tokens with the server's key.
type Issuer struct {
	key *ecdsa.PrivateKey
	kid string
}

// NewIssuer returns an Issuer for key, which must be P-384 (Mint fails
// otherwise). Its kid is "footlight-" plus the first 16 hex characters of the
// SHA-256 of the public key's PKIX DER: derived, not stored, so it is stable
// across restarts and changes exactly when the key does.
func NewIssuer(key *ecdsa.PrivateKey) *Issuer {
	sum := sha256.Sum256(publicDER(&key.PublicKey))
	return &Issuer{key: key, kid: serverKeyPrefix + hex.EncodeToString(sum[:8])}
}

// KeyID is the kid the Issuer puts in every token header.
func (i *Issuer) KeyID() string { return i.kid }

// PublicKey is the key that verifies the Issuer's tokens.
func (i *Issuer) PublicKey() *ecdsa.PublicKey { return &i.key.PublicKey }

// Mint signs c (version "1.0"); IssuedAt/ExpiresAt must be set by the caller;
// KeyID is ignored. Times are truncated to whole seconds. Mint applies the
// same claim checks as Verify, so it never signs a token Verify would refuse.
func (i *Issuer) Mint(c Claims) (string, error) {
	if c.IssuedAt.IsZero() || c.ExpiresAt.IsZero() {
		return "", malformed("IssuedAt and ExpiresAt must be set")
	}
	w := wireFromClaims(&c)
	if err := w.check(); err != nil {
		return "", err
	}
	if err := w.checkLifetime(false); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES384, w)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}
