// Package sigv4 verifies AWS Signature Version 4 Authorization headers on
// requests a server received. That is its one job: it does no HTTP routing
// and writes no responses, and it never logs anything, least of all secrets.
//
// It rebuilds the canonical request from what the client sent instead of
// re-signing with an SDK signer, because clients sign different header sets
// (botocore leaves out content-length, the JS SDK adds amz-sdk-*) and a
// signer only signs the headers it chooses.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	amzFormat  = "20060102T150405Z" // ISO 8601 basic format of X-Amz-Date
)

// Credentials finds the secret key of an access key id.
type Credentials interface {
	Secret(accessKeyID string) (secret string, ok bool)
}

// Config configures a Verifier.
type Config struct {
	Region      string           // the credential scope's region must equal this
	Service     string           // the scope's service must equal this ("ivs")
	Credentials Credentials      // required
	MaxSkew     time.Duration    // zero means 15 minutes
	Now         func() time.Time // nil means time.Now
}

// Verifier checks SigV4 signatures. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	keys keyCache
}

// New returns a Verifier for cfg.
func New(cfg Config) *Verifier {
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 15 * time.Minute // AWS's own limit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg, keys: keyCache{m: make(map[cacheKey]cachedKey)}}
}

// bufPool recycles the buffer the canonical request and string to sign are
// built in, so that a Verify of a request without a query does not allocate.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putBuf returns a buffer to bufPool unless a huge header set grew it.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
}

// Verify checks the SigV4 Authorization header of r (a request as received by
// a net/http server) against body (the full body, already read). It returns
// the access key id on success.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	a, amzDate, err := v.checkHeaders(r.Header)
	if err != nil {
		return "", err
	}
	secret, ok := v.cfg.Credentials.Secret(a.accessKey)
	if !ok {
		return "", fail(ErrUnknownAccessKey, "")
	}
	payload, err := payloadHash(r.Header, body)
	if err != nil {
		return "", err
	}
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	b, err := appendCanonicalRequest((*bp)[:0], r, a.signedHeaders, payload[:])
	if err != nil {
		return "", err
	}
	// String to sign (spec, "Create a string to sign"), after the 64 bytes
	// of scratch hmacSHA256 wants in front of its message.
	sum := sha256.Sum256(b)
	b = append(append(b[:0], make([]byte, sha256.BlockSize)...), algorithm+"\n"...)
	b = append(append(append(append(b, amzDate...), '\n'), a.scope...), '\n')
	b = hex.AppendEncode(b, sum[:])
	*bp = b
	key := v.keys.signingKey(a.accessKey, secret, a.date, a.region, a.service)
	if !signatureMatches(hmacSHA256(&key, b), a.signature) {
		return "", fail(ErrSignatureMismatch, "")
	}
	return a.accessKey, nil
}

// checkHeaders does the checks that need no secret: the Authorization
// header, the request time and the credential scope.
func (v *Verifier) checkHeaders(h http.Header) (authorization, string, error) {
	a, err := parseAuthorization(h)
	if err != nil {
		return a, "", err
	}
	amzDate, t, err := requestTime(h)
	if err != nil {
		return a, "", err
	}
	if err := v.checkScope(a, amzDate); err != nil {
		return a, "", err
	}
	return a, amzDate, v.checkSkew(t)
}

// requestTime returns the request time as X-Amz-Date spells it. The spec
// takes X-Amz-Date first and falls back to the HTTP Date header.
func requestTime(h http.Header) (string, time.Time, error) {
	if s := h.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(amzFormat, s)
		if err != nil || len(s) != len(amzFormat) {
			return "", t, fail(ErrIncomplete, "Date must be in ISO-8601 'basic format'. Got '%s'.", s)
		}
		return s, t, nil
	}
	if s := h.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return "", t, fail(ErrIncomplete, "Date header '%s' is not an HTTP date.", s)
		}
		return t.UTC().Format(amzFormat), t, nil
	}
	return "", time.Time{}, fail(ErrIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

// checkScope compares the credential scope with the request date and with
// the region and service this server answers for.
func (v *Verifier) checkScope(a authorization, amzDate string) error {
	switch {
	case a.date != amzDate[:8]:
		return fail(ErrBadScope, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, amzDate[:8], amzDate)
	case a.region != v.cfg.Region:
		return fail(ErrBadScope, "Credential should be scoped to a valid region, not '%s'. ", a.region)
	case a.service != v.cfg.Service:
		return fail(ErrBadScope, "Credential should be scoped to correct service: '%s'. ", v.cfg.Service)
	case a.terminator != terminator:
		return fail(ErrBadScope, "Credential should be scoped with a valid terminator: '%s', not '%s'. ", terminator, a.terminator)
	}
	return nil
}

// checkSkew refuses a request more than MaxSkew away from now, with AWS's
// wording, which bounds how long a captured request can be replayed.
func (v *Verifier) checkSkew(t time.Time) error {
	now, skew := v.cfg.Now().UTC(), v.cfg.MaxSkew
	mins := func() string { return strconv.FormatFloat(skew.Minutes(), 'f', -1, 64) }
	if d := now.Sub(t); d > skew {
		return fail(ErrExpired, "Signature expired: %s is now earlier than %s (%s - %s min.)",
			t.UTC().Format(amzFormat), now.Add(-skew).Format(amzFormat), now.Format(amzFormat), mins())
	} else if d < -skew {
		return fail(ErrExpired, "Signature not yet current: %s is still later than %s (%s + %s min.)",
			t.UTC().Format(amzFormat), now.Add(skew).Format(amzFormat), now.Format(amzFormat), mins())
	}
	return nil
}

// payloadHash returns the hex SHA-256 of body. A client may also send it as
// X-Amz-Content-Sha256 (the JS SDK does); it must then be that same hash, as
// the signature covers the header and not the body. UNSIGNED-PAYLOAD and
// the streaming forms are refused: no operation of this API needs them.
func payloadHash(h http.Header, body []byte) ([64]byte, error) {
	var out [64]byte
	sum := sha256.Sum256(body)
	hex.Encode(out[:], sum[:])
	if s := h.Get("X-Amz-Content-Sha256"); s != "" && s != string(out[:]) {
		return out, fail(ErrContentSHA256Mismatch, "")
	}
	return out, nil
}

// signatureMatches compares the hex form of the computed signature with the
// client's in constant time.
func signatureMatches(sig [32]byte, signature string) bool {
	if len(signature) != 64 {
		return false
	}
	var want, got [64]byte
	hex.Encode(want[:], sig[:])
	copy(got[:], signature)
	return hmac.Equal(want[:], got[:])
}

// hmacSHA256 returns HMAC-SHA256(key, buf[64:]) as RFC 2104 defines it,
// using buf[:64] as scratch. It is what crypto/hmac computes, without the
// seven allocations of hmac.New on the hot path: a SigV4 signing key is 32
// bytes, shorter than the 64-byte block, so it is just zero-padded.
func hmacSHA256(key *[32]byte, buf []byte) [32]byte {
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i], outer[i] = k^0x36, k^0x5c
	}
	inner := sha256.Sum256(buf)
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// authorization is the parsed Authorization header. All fields are
// substrings of the header.
type authorization struct {
	accessKey, signedHeaders, signature string
	scope                               string // date/region/service/terminator
	date, region, service, terminator   string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex" (spec, "Add the
// signature to the request"), tolerating any mix of commas and spaces
// between the parameters.
func parseAuthorization(h http.Header) (authorization, error) {
	var a authorization
	values := h["Authorization"]
	if len(values) == 0 {
		return a, fail(ErrMissingAuth, "")
	} else if len(values) > 1 {
		return a, fail(ErrIncomplete, "Only one Authorization header is allowed.")
	}
	alg, rest, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if alg != algorithm {
		return a, fail(ErrMissingAuth, "")
	}
	var credential string
	for rest != "" {
		rest = strings.TrimLeft(rest, ", ")
		end := strings.IndexAny(rest, ", ")
		if end < 0 {
			end = len(rest)
		}
		name, value, _ := strings.Cut(rest[:end], "=")
		switch rest = rest[end:]; name {
		case "Credential":
			credential = value
		case "SignedHeaders":
			a.signedHeaders = value
		case "Signature":
			a.signature = value
		}
	}
	return a, a.parseParams(credential)
}

// parseParams checks that every parameter is there and splits credential.
func (a *authorization) parseParams(credential string) error {
	var missing string
	for _, p := range [...]struct{ name, value string }{{"Credential", credential}, {"Signature", a.signature}, {"SignedHeaders", a.signedHeaders}} {
		if p.value == "" {
			missing += "Authorization header requires '" + p.name + "' parameter. "
		}
	}
	if missing != "" {
		return fail(ErrIncomplete, "%s", missing)
	}
	var rest string
	var ok [4]bool
	a.accessKey, a.scope, ok[0] = strings.Cut(credential, "/")
	a.date, rest, ok[1] = strings.Cut(a.scope, "/")
	a.region, rest, ok[2] = strings.Cut(rest, "/")
	a.service, a.terminator, ok[3] = strings.Cut(rest, "/")
	if ok != [4]bool{true, true, true, true} || a.accessKey == "" || len(a.date) != 8 || strings.Contains(a.terminator, "/") {
		return fail(ErrIncomplete, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
	}
	if !hasHost(a.signedHeaders) {
		return fail(ErrIncomplete, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

// hasHost reports whether signed names host, which the spec requires so that
// a request cannot be replayed against another endpoint.
func hasHost(signed string) bool {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		if name == "host" {
			return true
		}
	}
	return false
}

// keyCache holds derived signing keys, so that the hot path is one HMAC
// instead of five. Region and service are fixed per Verifier, so an entry is
// keyed by access key and date, and keeps the secret it was derived from to
// notice a rotated secret.
type keyCache struct {
	mu sync.Mutex // guards m
	m  map[cacheKey]cachedKey
}

type cacheKey struct{ accessKey, date string }

type cachedKey struct {
	secret string
	key    [32]byte
}

// maxCachedKeys bounds the cache; when full it is emptied, which also drops
// the keys of past dates.
const maxCachedKeys = 256

// signingKey returns the spec's signing key, HMAC("AWS4"+secret, date) then
// region, service and "aws4_request" ("Calculate the signature").
func (c *keyCache) signingKey(accessKey, secret, date, region, service string) [32]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[cacheKey{accessKey, date}]; ok && e.secret == secret {
		return e.key
	}
	key := []byte("AWS4" + secret)
	for _, part := range [...]string{date, region, service, terminator} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(part))
		key = mac.Sum(nil)
	}
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	e := cachedKey{secret: secret, key: [32]byte(key)}
	c.m[cacheKey{strings.Clone(accessKey), strings.Clone(date)}] = e
	return e.key
}
