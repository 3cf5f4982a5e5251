package storage

import "errors"

var (
	// ErrNotFound: the object (or the bucket holding it) does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidKey: the key is empty, too long, absolute, or has an empty, "." or ".." segment,
	// so it could not be stored as a path under its bucket.
	ErrInvalidKey = errors.New("invalid object key")
	// ErrInvalidBucket: the bucket name breaks the S3 naming rules (3–63 lower-case letters,
	// digits, dots and hyphens, starting and ending with a letter or digit).
	ErrInvalidBucket = errors.New("invalid bucket name")
)
