package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// tmpPrefix starts the names of files Put is still writing; List and reads skip them.
const tmpPrefix = ".footlight-tmp-"

// Local is a Store in a directory: bucket B's object K is the file <dir>/B/K. Buckets are
// directories made on demand. It is safe for concurrent use; concurrent Puts of one key
// leave one of the bodies whole.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// NewLocal returns a store keeping its objects under dir, which is created when first needed.
func NewLocal(dir string) *Local {
	return &Local{dir: filepath.Clean(dir)}
}

// Put writes body to a temporary file beside the object, fsyncs it, renames it over the
// object and fsyncs the directory, so a reader or a crash never leaves a partial object.
// contentType is unused: the HTTP handler types objects by extension.
func (l *Local) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := l.checkKey(bucket, key); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	name := l.path(bucket, key)
	if err := l.mkdirAll(filepath.Dir(name)); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if err := writeAtomic(name, body); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// BucketExists is true for any valid bucket name: buckets are made on demand.
func (l *Local) BucketExists(ctx context.Context, bucket string) (bool, error) {
	if err := checkBucket(bucket); err != nil {
		return false, err
	}
	return true, nil
}

// Get returns the object's bytes, or an error wrapping ErrNotFound.
func (l *Local) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	f, err := l.open(bucket, key)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	body, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return body, nil
}

// List returns the keys in bucket starting with prefix, sorted. A bucket never written to
// is empty.
func (l *Local) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
	}
	// Walk only the deepest directory the prefix names.
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
		if checkKey(start) != nil {
			return nil, nil // no valid key has this prefix
		}
	}
	root := l.path(bucket, start)
	var keys []string
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(l.path(bucket, ""), name)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// checkKey adds to the shared rules that a key may not name one of Put's temporary files.
func (l *Local) checkKey(bucket, key string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	if strings.HasPrefix(path.Base(key), tmpPrefix) {
		return fmt.Errorf("key %q: %w", key, ErrInvalidKey)
	}
	return nil
}

// path is the file holding bucket/key; both must have been checked.
func (l *Local) path(bucket, key string) string {
	return filepath.Join(l.dir, bucket, filepath.FromSlash(key))
}

// open opens a regular file holding bucket/key. It opens the key through an os.Root at the
// bucket's directory, so a symlink planted in a bucket cannot lead outside it (a bucket
// directory may itself be a symlink, to another disk say).
func (l *Local) open(bucket, key string) (*os.File, error) {
	if err := l.checkKey(bucket, key); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(l.path(bucket, ""))
	if err != nil {
		return nil, notFound(err)
	}
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		return nil, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return f, nil
}

// notFound maps "no such file", a file where a directory should be, and os.Root's refusal
// of a path leading outside it (an error that is no errno) to ErrNotFound.
func notFound(err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) ||
		errors.As(err, &pathErr) && !errors.As(pathErr.Err, &errno) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// mkdirAll makes dir and its missing parents up to l.dir's, fsyncing the parent of each
// directory it made so the new entries survive a crash.
func (l *Local) mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) || d == filepath.Dir(l.dir) {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic replaces name with body: temp file, fsync, rename, fsync of the directory.
func writeAtomic(name string, body []byte) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(body); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, making renames and new entries in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
