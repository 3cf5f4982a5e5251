// Package storage puts recording objects into a bucket-and-key object store: a local
// directory (served read-only over HTTP) or any S3-compatible service. It knows nothing of
// recordings: which keys to write, and when, is the recorder's job.
package storage

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// Store is where recordings go: a bucket-and-key object store.
type Store interface {
	// Put stores body as bucket/key, replacing any object there. It is atomic: readers see
	// the old object or the new one, never a part.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	// BucketExists reports whether the bucket exists and is reachable with our credentials.
	BucketExists(ctx context.Context, bucket string) (bool, error)
	// Get returns the object's bytes, or an error wrapping ErrNotFound.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List returns the keys starting with prefix, sorted.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// maxKeyLen is S3's limit on a key's UTF-8 length.
const maxKeyLen = 1024

// bucketPattern holds S3's general-purpose bucket naming rules.
var bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// checkBucket returns an error wrapping ErrInvalidBucket unless bucket is a valid S3 name.
func checkBucket(bucket string) error {
	if !bucketPattern.MatchString(bucket) || strings.Contains(bucket, "..") {
		return fmt.Errorf("bucket %q: %w", bucket, ErrInvalidBucket)
	}
	return nil
}

// checkKey returns an error wrapping ErrInvalidKey unless key is a relative slash-separated
// path with no empty, "." or ".." segment. Both backends apply it, so a key that works on
// S3 works on the local store too.
func checkKey(key string) error {
	if len(key) > maxKeyLen || !fs.ValidPath(key) || key == "." ||
		strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("key %q: %w", key, ErrInvalidKey)
	}
	return nil
}

// checkObject checks a bucket and key together.
func checkObject(bucket, key string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	return checkKey(key)
}
