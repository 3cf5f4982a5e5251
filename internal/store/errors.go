package store

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: no resource has that ARN (or id).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change would leave state inconsistent, e.g. deleting a configuration
	// that a stage still uses, or importing a public key twice.
	ErrConflict = errors.New("conflict")
	// ErrInvalidPageToken: a nextToken this store did not issue for that listing.
	ErrInvalidPageToken = errors.New("invalid page token")
	// ErrTooManyTags: tagging would leave the resource with more than MaxTags tags.
	ErrTooManyTags = errors.New("too many tags")
	// ErrLimit: creating the resource would leave more of its type than a Limit guard allows.
	ErrLimit = errors.New("resource limit reached")
)

// MaxTags is AWS's limit of tags per resource (SPEC §9).
const MaxTags = 50

// NotFoundError names the missing resource; it matches ErrNotFound with errors.Is.
type NotFoundError struct {
	Type string // "stage", "storage-configuration", ... or "resource" when any type would do
	ID   string // ARN or participant id
}

func (e *NotFoundError) Error() string { return e.Type + " " + e.ID + " not found" }

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError names the resource that blocks a change; it matches ErrConflict.
type ConflictError struct {
	Reason string // client-facing: "storage configuration arn:... is used by stage arn:..."
}

func (e *ConflictError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// LimitError names the limit a create would break; it matches ErrLimit.
type LimitError struct {
	Type string // "stage", "storage-configuration", ...
	Max  int    // how many of Type may exist
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("at most %d %s resources may exist", e.Max, e.Type)
}

// Is makes errors.Is(err, ErrLimit) hold.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }
