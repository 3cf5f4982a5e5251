package arn

import (
	"errors"
	"regexp"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ARN
		err  error
	}{
		{"stage", "arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh", ARN{"us-east-1", "123456789012", "stage", "abcdABCDefgh"}, nil},
		{"storage", "arn:aws:ivs:eu-west-1:1:storage-configuration/x", ARN{"eu-west-1", "1", "storage-configuration", "x"}, nil},
		{"no id", "arn:aws:ivs:us-east-1:123456789012:stage/", ARN{}, ErrMalformed},
		{"no type", "arn:aws:ivs:us-east-1:123456789012:abc", ARN{}, ErrMalformed},
		{"other service", "arn:aws:s3:us-east-1:123456789012:stage/x", ARN{}, ErrMalformed},
		{"empty", "", ARN{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if err == nil && got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	session := regexp.MustCompile(`^st-[a-zA-Z0-9]{13}$`)
	id := regexp.MustCompile(`^[a-zA-Z0-9]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s, p := NewSessionID(), NewParticipantID()
		if !session.MatchString(s) || !id.MatchString(p) {
			t.Fatalf("bad ids %q %q", s, p)
		}
		if seen[p] {
			t.Fatalf("duplicate id %q", p)
		}
		seen[p] = true
	}
}
