package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/footlight/footlight/internal/s3test"
)

// TestStoreLocal runs the conformance table against the local directory store.
func TestStoreLocal(t *testing.T) {
	testStore(t, NewLocal(filepath.Join(t.TempDir(), "recordings")), false)
}

// TestStoreS3 runs the same table against S3 on a real versitygw process.
func TestStoreS3(t *testing.T) {
	gw := s3test.Start(t)
	gw.CreateBucket(testBucket)
	st, err := NewS3(S3Config{Endpoint: gw.Endpoint, Region: gw.Region, AccessKeyID: gw.AccessKeyID,
		SecretAccessKey: gw.SecretAccessKey, PathStyle: true})
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	testStore(t, st, true)
}

const testBucket = "footlight-test"

// testStore is the conformance table every Store passes. realBuckets says whether
// BucketExists can be false (S3) or is true for any valid name (Local).
func testStore(t *testing.T, st Store, realBuckets bool) {
	ctx := t.Context()
	t.Run("put get round trip", func(t *testing.T) {
		body := []byte("#EXTM3U\n")
		mustPut(t, st, "stage/s/p/t/media/hls/multivariant.m3u8", body)
		got, err := st.Get(ctx, testBucket, "stage/s/p/t/media/hls/multivariant.m3u8")
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("Get = %q, %v; want %q", got, err, body)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		mustPut(t, st, "empty/object", nil)
		got, err := st.Get(ctx, testBucket, "empty/object")
		if err != nil || len(got) != 0 {
			t.Fatalf("Get = %q, %v; want empty", got, err)
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		mustPut(t, st, "over/thumb.jpg", []byte("first, longer body"))
		mustPut(t, st, "over/thumb.jpg", []byte("second"))
		got, err := st.Get(ctx, testBucket, "over/thumb.jpg")
		if err != nil || string(got) != "second" {
			t.Fatalf("Get = %q, %v; want %q", got, err, "second")
		}
	})
	t.Run("concurrent puts leave one whole body", func(t *testing.T) {
		bodies := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range bodies {
			bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
			wg.Go(func() {
				if err := st.Put(ctx, testBucket, "race/seg.m4s", bodies[i], "video/mp4"); err != nil {
					t.Errorf("Put %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		got, err := st.Get(ctx, testBucket, "race/seg.m4s")
		if err != nil || !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) }) {
			t.Fatalf("Get = %d bytes, %v; want one of the bodies whole", len(got), err)
		}
	})
	t.Run("list with prefix sorted", func(t *testing.T) {
		for _, k := range []string{"ls/b/2.jpg", "ls/a.json", "ls/b/10.jpg", "ls/b/1.jpg", "ls/a/x", "lsx/other"} {
			mustPut(t, st, k, []byte(k))
		}
		tests := []struct {
			prefix string
			want   []string
		}{
			{"ls/", []string{"ls/a.json", "ls/a/x", "ls/b/1.jpg", "ls/b/10.jpg", "ls/b/2.jpg"}},
			{"ls/b/1", []string{"ls/b/1.jpg", "ls/b/10.jpg"}},
			{"ls/a", []string{"ls/a.json", "ls/a/x"}},
			{"ls", []string{"ls/a.json", "ls/a/x", "ls/b/1.jpg", "ls/b/10.jpg", "ls/b/2.jpg", "lsx/other"}},
			{"nothing/", nil},
			{"../", nil},
		}
		for _, tt := range tests {
			got, err := st.List(ctx, testBucket, tt.prefix)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) = %q, %v; want %q", tt.prefix, got, err, tt.want)
			}
		}
		all, err := st.List(ctx, testBucket, "")
		if err != nil || !slices.IsSorted(all) || !slices.Contains(all, "lsx/other") {
			t.Errorf("List(\"\") = %q, %v; want every key, sorted", all, err)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		for _, k := range []string{"no/such/key", "ls/b", "ls/a.json/under"} {
			if _, err := st.Get(ctx, testBucket, k); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q) = %v; want ErrNotFound", k, err)
			}
		}
	})
	t.Run("bucket exists", func(t *testing.T) {
		if ok, err := st.BucketExists(ctx, testBucket); !ok || err != nil {
			t.Errorf("BucketExists(%q) = %t, %v; want true", testBucket, ok, err)
		}
		ok, err := st.BucketExists(ctx, "no-such-bucket")
		if err != nil || ok != !realBuckets {
			t.Errorf("BucketExists(no-such-bucket) = %t, %v; want %t", ok, err, !realBuckets)
		}
		if _, err := st.BucketExists(ctx, "Bad_Bucket"); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("BucketExists(Bad_Bucket) = %v; want ErrInvalidBucket", err)
		}
	})
	t.Run("bad keys refused", func(t *testing.T) {
		for _, k := range badKeys {
			if err := st.Put(ctx, testBucket, k, []byte("x"), ""); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q) = %v; want ErrInvalidKey", k, err)
			}
			if _, err := st.Get(ctx, testBucket, k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get(%q) = %v; want ErrInvalidKey", k, err)
			}
		}
	})
	t.Run("bad buckets refused", func(t *testing.T) {
		for _, b := range []string{"", "..", "a", "../x", "a/b", "UPPER", "-dash", "dots..dots"} {
			if err := st.Put(ctx, b, "k", []byte("x"), ""); !errors.Is(err, ErrInvalidBucket) {
				t.Errorf("Put(bucket %q) = %v; want ErrInvalidBucket", b, err)
			}
		}
	})
}

var badKeys = []string{"", ".", "..", "../escape", "a/../../escape", "/etc/passwd", "a//b", "a/", "./a", `a\..\b`, "nul\x00"}

func mustPut(t *testing.T, st Store, key string, body []byte) {
	t.Helper()
	if err := st.Put(t.Context(), testBucket, key, body, contentType(key)); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func TestCheckKey(t *testing.T) {
	long := string(bytes.Repeat([]byte("k"), maxKeyLen+1))
	for _, k := range append(badKeys, long) {
		if err := checkKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("checkKey(%.20q) = %v; want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"a", "a/b.m3u8", "st/se/p/2026-01-01T00:00:00Z/media/hls/high/playlist.m3u8", "..a/b..", ".hidden"} {
		if err := checkKey(k); err != nil {
			t.Errorf("checkKey(%q) = %v; want nil", k, err)
		}
	}
}

func TestLocalLayout(t *testing.T) {
	dir := t.TempDir()
	l := NewLocal(dir)
	if err := l.Put(t.Context(), "bkt", "x/y/z.json", []byte("{}"), "application/json"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// DESIGN.md: bucket B's object K is the file <dir>/B/K, with no temporary file left.
	entries, err := filepath.Glob(filepath.Join(dir, "bkt", "x", "y", "*"))
	if err != nil || !slices.Equal(entries, []string{filepath.Join(dir, "bkt", "x", "y", "z.json")}) {
		t.Fatalf("files = %q, %v; want only z.json", entries, err)
	}
	if err := l.Put(t.Context(), "bkt", "x/"+tmpPrefix+"1", nil, ""); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Put of a temp-file name = %v; want ErrInvalidKey", err)
	}
}
