package token

import "errors"

// Verify, Mint and ParsePublicKey return these sentinels wrapped with %w and a
// short context (Verify also passes through PublicKeys failures other than
// ErrUnknownKey). The context never contains token text, key material or
// values copied out of a token, so callers may log errors as they are.
var (
	// ErrMalformed means the input is not a well-formed participant token:
	// not three base64url segments, bad JSON, a missing or invalid claim, or
	// a claim of the wrong type.
	ErrMalformed = errors.New("token: malformed")

	// ErrSignature means the signature does not verify with the key named by
	// the token's kid.
	ErrSignature = errors.New("token: bad signature")

	// ErrAlgorithm means the header's alg is not ES384 (this includes "none",
	// HS* and RS*, which would enable algorithm-confusion attacks).
	ErrAlgorithm = errors.New("token: algorithm not allowed")

	// ErrExpired means the token's exp is at or before the time of checking.
	ErrExpired = errors.New("token: expired")

	// ErrUnknownKey means the token's kid is missing, or names neither the
	// server's key nor a public key imported for the stage's account.
	ErrUnknownKey = errors.New("token: unknown signing key")

	// ErrLifetime means exp is not after iat, or a customer-signed token
	// lives longer than the 14 days IVS allows.
	ErrLifetime = errors.New("token: lifetime not allowed")

	// ErrKeyType means public key material is not a PEM "PUBLIC KEY" (PKIX)
	// block holding an ECDSA P-384 key, or PublicKeys returned a key that is
	// not P-384.
	ErrKeyType = errors.New("token: public key must be ECDSA P-384 in PEM PKIX form")
)
