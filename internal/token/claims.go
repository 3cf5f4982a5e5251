// Package token mints and verifies IVS participant tokens: ES384 JWTs signed
// either by the server's own key or by a customer's P-384 key imported with
// ImportPublicKey.
//
// It knows no HTTP or SQL; imported keys arrive through the narrow PublicKeys
// interface. It never logs, and its errors never carry token text or keys.
package token

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a participant token grants, in Go terms.
type Claims struct {
	ParticipantID string            // jti
	StageArn      string            // resource
	StageID       string            // topic
	UserID        string            // user_id; may be empty
	Attributes    map[string]string // attributes
	Publish       bool              // capabilities.allow_publish
	Subscribe     bool              // capabilities.allow_subscribe
	EventsURL     string            // events_url
	WhipURL       string            // whip_url
	IssuedAt      time.Time         // iat
	ExpiresAt     time.Time         // exp
	KeyID         string            // set by Verify: the kid that signed (server key id or public-key ARN)
}

// Limits IVS documents for participant tokens.
const (
	claimsVersion     = "1.0"
	maxParticipantID  = 64
	maxUserID         = 128 // characters, not bytes
	maxAttributeBytes = 1024
	maxStageID        = 64
	maxSelfSignedLife = 14 * 24 * time.Hour
)

// wireClaims is the JWT payload exactly as IVS writes it. Verify decodes into
// it and Mint encodes from it, so both sides share one schema and one check.
type wireClaims struct {
	Exp          numericDate       `json:"exp"`
	Iat          numericDate       `json:"iat"`
	Jti          string            `json:"jti"`
	Resource     string            `json:"resource"`
	Topic        string            `json:"topic"`
	EventsURL    string            `json:"events_url"`
	WhipURL      string            `json:"whip_url"`
	UserID       string            `json:"user_id,omitempty"`
	Attributes   map[string]string `json:"attributes"`
	Capabilities *capabilities     `json:"capabilities"`
	Version      string            `json:"version"`
}

// capabilities is the payload's capability object. A missing member decodes
// as false, which grants less, never more.
type capabilities struct {
	AllowPublish   bool `json:"allow_publish"`
	AllowSubscribe bool `json:"allow_subscribe"`
}

// wireFromClaims converts c to its payload form; times drop to whole seconds
// because NumericDate in IVS tokens is an integer.
func wireFromClaims(c *Claims) *wireClaims {
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]string{} // IVS always sends the object, even empty
	}
	return &wireClaims{
		Exp:          numericDate{sec: c.ExpiresAt.Unix(), set: true},
		Iat:          numericDate{sec: c.IssuedAt.Unix(), set: true},
		Jti:          c.ParticipantID,
		Resource:     c.StageArn,
		Topic:        c.StageID,
		EventsURL:    c.EventsURL,
		WhipURL:      c.WhipURL,
		UserID:       c.UserID,
		Attributes:   attrs,
		Capabilities: &capabilities{AllowPublish: c.Publish, AllowSubscribe: c.Subscribe},
		Version:      claimsVersion,
	}
}

// claims converts a checked payload to Claims.
func (w *wireClaims) claims() *Claims {
	return &Claims{
		ParticipantID: w.Jti,
		StageArn:      w.Resource,
		StageID:       w.Topic,
		UserID:        w.UserID,
		Attributes:    w.Attributes,
		Publish:       w.Capabilities.AllowPublish,
		Subscribe:     w.Capabilities.AllowSubscribe,
		EventsURL:     w.EventsURL,
		WhipURL:       w.WhipURL,
		IssuedAt:      w.Iat.time(),
		ExpiresAt:     w.Exp.time(),
	}
}

// check enforces presence and shape of every claim; it does not look at the
// clock, so Mint can run it too and never sign what Verify would refuse.
func (w *wireClaims) check() error {
	if err := w.checkPresent(); err != nil {
		return err
	}
	if !isID(w.Jti, maxParticipantID) {
		return malformed("jti must be 1-64 characters of [A-Za-z0-9_-]")
	}
	stageID, ok := stageIDFromARN(w.Resource)
	if !ok {
		return malformed("resource is not an IVS stage ARN")
	}
	if w.Topic != stageID {
		return malformed("topic does not match the stage id in resource")
	}
	if w.Version != claimsVersion {
		return malformed("version must be " + claimsVersion)
	}
	if utf8.RuneCountInString(w.UserID) > maxUserID {
		return malformed("user_id is longer than 128 characters")
	}
	if attributeBytes(w.Attributes) > maxAttributeBytes {
		return malformed("attributes exceed 1 KB")
	}
	return nil
}

// checkPresent reports the first mandatory claim that is absent; user_id is
// the only optional one.
func (w *wireClaims) checkPresent() error {
	missing := ""
	switch {
	case !w.Exp.set:
		missing = "exp"
	case !w.Iat.set:
		missing = "iat"
	case w.Jti == "":
		missing = "jti"
	case w.Resource == "":
		missing = "resource"
	case w.Topic == "":
		missing = "topic"
	case w.EventsURL == "":
		missing = "events_url"
	case w.WhipURL == "":
		missing = "whip_url"
	case w.Attributes == nil:
		missing = "attributes"
	case w.Capabilities == nil:
		missing = "capabilities"
	case w.Version == "":
		missing = "version"
	default:
		return nil
	}
	return malformed("missing claim " + missing)
}

// checkLifetime rejects tokens that expire before they are issued and, for
// customer-signed tokens, lifetimes over the 14 days IVS allows. Server tokens
// are exempt from the cap: their duration was already checked when minted.
func (w *wireClaims) checkLifetime(selfSigned bool) error {
	if w.Exp.sec <= w.Iat.sec {
		return fmt.Errorf("%w: exp is not after iat", ErrLifetime)
	}
	if selfSigned && w.Exp.sec-w.Iat.sec > int64(maxSelfSignedLife/time.Second) {
		return fmt.Errorf("%w: exp is more than 14 days after iat", ErrLifetime)
	}
	return nil
}

// The jwt.Claims methods exist only so the library accepts wireClaims. They
// report nothing because the parser runs WithoutClaimsValidation: expiry is
// judged by Verify against the caller's now, not the library's clock.
func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (w *wireClaims) GetIssuer() (string, error)                   { return "", nil }
func (w *wireClaims) GetSubject() (string, error)                  { return "", nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// numericDate is a JWT NumericDate in whole seconds. It is stricter than
// jwt.NumericDate, which also accepts numbers written as JSON strings.
type numericDate struct {
	sec int64
	set bool // false when the claim is absent or null
}

// maxNumericDate (year 9999) keeps time arithmetic far from overflow.
const maxNumericDate = 253402300799

// errNumericDate carries no value from the token, only what was expected.
var errNumericDate = errors.New("exp and iat must be NumericDate numbers (seconds since 1970)")

func (d numericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, d.sec, 10), nil
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil // treated as absent, so checkPresent names the claim
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Fractions and exponents are valid NumericDates; IVS never sends
		// them, but a customer's library might. Flooring keeps exp strict.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
			return errNumericDate
		}
		sec = int64(math.Floor(f))
	}
	if sec < 0 || sec > maxNumericDate {
		return errNumericDate
	}
	d.sec, d.set = sec, true
	return nil
}

func (d numericDate) time() time.Time { return time.Unix(d.sec, 0).UTC() }

// stageIDFromARN returns <id> from arn:<partition>:ivs:<region>:<account>:stage/<id>.
func stageIDFromARN(arn string) (string, bool) {
	_, res, ok := splitARN(arn)
	if !ok {
		return "", false
	}
	id, ok := strings.CutPrefix(res, "stage/")
	if !ok || !isID(id, maxStageID) {
		return "", false
	}
	return id, true
}

// splitARN splits an IVS ARN into its scope ("arn:<partition>:ivs:<region>:<account>:")
// and resource part. Scopes let Verify confine an imported key to its own
// account and region.
func splitARN(arn string) (scope, resource string, ok bool) {
	rest := arn
	var field [5]string
	for i := range field {
		field[i], rest, ok = strings.Cut(rest, ":")
		if !ok || field[i] == "" {
			return "", "", false
		}
	}
	if field[0] != "arn" || field[2] != "ivs" || rest == "" {
		return "", "", false
	}
	return arn[:len(arn)-len(rest)], rest, true
}

// isID reports whether s is 1..max characters of [A-Za-z0-9_-], the alphabet
// IVS uses for participant and resource ids.
func isID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// attributeBytes is the size IVS limits: keys plus values, in bytes.
func attributeBytes(attrs map[string]string) int {
	n := 0
	for k, v := range attrs {
		n += len(k) + len(v)
	}
	return n
}

func malformed(detail string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, detail)
}
