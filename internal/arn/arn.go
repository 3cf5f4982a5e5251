// Package arn builds, parses and mints the identifiers of IVS resources: ARNs
// (arn:aws:ivs:<region>:<account>:<type>/<id>), stage session ids and participant ids.
package arn

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Resource types of the ivs namespace that this API owns (SPEC §1).
const (
	TypeStage                = "stage"
	TypeComposition          = "composition"
	TypeEncoderConfiguration = "encoder-configuration"
	TypeStorageConfiguration = "storage-configuration"
	TypePublicKey            = "public-key"
	TypeIngestConfiguration  = "ingest-configuration"
)

// ErrMalformed reports a string that is not an ivs ARN.
var ErrMalformed = errors.New("malformed ARN")

// ARN is a parsed ivs resource name.
type ARN struct {
	Region  string
	Account string
	Type    string
	ID      string
}

// String renders the ARN in AWS's form.
func (a ARN) String() string {
	return "arn:aws:ivs:" + a.Region + ":" + a.Account + ":" + a.Type + "/" + a.ID
}

// Parse splits an ivs ARN into its parts; it checks structure, not whether the resource exists.
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "ivs" {
		return ARN{}, fmt.Errorf("parse %q: %w", s, ErrMalformed)
	}
	typ, id, ok := strings.Cut(parts[5], "/")
	if !ok || typ == "" || id == "" || parts[3] == "" || parts[4] == "" {
		return ARN{}, fmt.Errorf("parse %q: %w", s, ErrMalformed)
	}
	return ARN{Region: parts[3], Account: parts[4], Type: typ, ID: id}, nil
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomID returns n characters drawn uniformly from [A-Za-z0-9] with crypto/rand.
func RandomID(n int) string {
	const max = 256 - 256%len(alphanumerics) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < max && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}

// ResourceIDLength is the length of resource ids, as IVS mints them ("abcdABCDefgh").
const ResourceIDLength = 12

// NewSessionID mints a stage session id: "st-" and 13 alphanumerics (16 characters, SPEC §7).
func NewSessionID() string { return "st-" + RandomID(13) }

// NewParticipantID mints a participant id (a token's jti), 12 alphanumerics like IVS's.
func NewParticipantID() string { return RandomID(12) }
