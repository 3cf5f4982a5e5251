package storage

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// startRecordings serves a Local store holding a few objects under base/recordings, with a
// secret file beside it that no request may reach.
func startRecordings(t *testing.T) (l *Local, base string) {
	t.Helper()
	base = t.TempDir()
	l = NewLocal(filepath.Join(base, "recordings"))
	objects := map[string]string{
		"st/se/media/hls/multivariant.m3u8":           "#EXTM3U\n",
		"st/se/media/hls/high/1.m4s":                  "segment",
		"st/se/media/hls/high/init.mp4":               "init",
		"st/se/media/thumbnails/high/1.jpg":           "jpeg",
		"st/se/events/recording-started.json":         "{}",
		"st/se/media/latest_thumbnail/high/thumb.bin": "bin",
	}
	for key, body := range objects {
		if err := l.Put(t.Context(), testBucket, key, []byte(body), ""); err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink planted inside the bucket must not lead outside the store either.
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(base, "recordings", testBucket, "link.json")); err != nil {
		t.Fatal(err)
	}
	return l, base
}

func TestHandlerGet(t *testing.T) {
	l, _ := startRecordings(t)
	mux := http.NewServeMux()
	mux.Handle("/recordings/", l.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tests := []struct {
		key, contentType, body string
	}{
		{"st/se/media/hls/multivariant.m3u8", "application/vnd.apple.mpegurl", "#EXTM3U\n"},
		{"st/se/media/hls/high/1.m4s", "video/mp4", "segment"},
		{"st/se/media/hls/high/init.mp4", "video/mp4", "init"},
		{"st/se/media/thumbnails/high/1.jpg", "image/jpeg", "jpeg"},
		{"st/se/events/recording-started.json", "application/json", "{}"},
		{"st/se/media/latest_thumbnail/high/thumb.bin", "application/octet-stream", "bin"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := do(t, method, srv.URL, "/recordings/"+testBucket+"/"+tt.key)
				wantBody := tt.body
				if method == http.MethodHead {
					wantBody = ""
				}
				if resp.StatusCode != http.StatusOK || body != wantBody {
					t.Errorf("%s: %d %q; want 200 %q", method, resp.StatusCode, body, wantBody)
				}
				if got := resp.Header.Get("Content-Type"); got != tt.contentType {
					t.Errorf("%s: Content-Type %q; want %q", method, got, tt.contentType)
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("%s: Access-Control-Allow-Origin %q; want *", method, got)
				}
				if got := resp.Header.Get("Content-Length"); got != "" && got != strconv.Itoa(len(tt.body)) {
					t.Errorf("%s: Content-Length %s; want %d", method, got, len(tt.body))
				}
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	l, _ := startRecordings(t)
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/recordings/" + testBucket + "/no/such.m3u8", http.StatusNotFound},
		{http.MethodHead, "/recordings/" + testBucket + "/no/such.m3u8", http.StatusNotFound},
		{http.MethodGet, "/recordings/no-such-bucket/st/se/media/hls/multivariant.m3u8", http.StatusNotFound},
		{http.MethodGet, "/recordings/" + testBucket + "/st/se/media", http.StatusNotFound},
		{http.MethodGet, "/recordings/" + testBucket + "/st/se/media/", http.StatusNotFound},
		{http.MethodGet, "/recordings/" + testBucket + "/", http.StatusNotFound},
		{http.MethodGet, "/recordings/" + testBucket, http.StatusNotFound},
		{http.MethodGet, "/recordings/", http.StatusNotFound},
		{http.MethodGet, "/other/" + testBucket + "/st/se/media/hls/multivariant.m3u8", http.StatusNotFound},
		{http.MethodPut, "/recordings/" + testBucket + "/st/se/media/hls/multivariant.m3u8", http.StatusMethodNotAllowed},
		{http.MethodPost, "/recordings/" + testBucket + "/new.json", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/recordings/" + testBucket + "/st/se/media/hls/multivariant.m3u8", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		resp, _ := do(t, tt.method, srv.URL, tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s = %d; want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s %s: Access-Control-Allow-Origin %q; want *", tt.method, tt.path, got)
		}
		if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q; want GET, HEAD", tt.method, tt.path, resp.Header.Get("Allow"))
		}
	}
	// PUT must not have written anything.
	if _, err := l.Get(t.Context(), testBucket, "new.json"); err == nil {
		t.Errorf("POST created an object")
	}
}

func TestHandlerTraversal(t *testing.T) {
	l, base := startRecordings(t)
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	paths := []string{
		"/recordings/" + testBucket + "/../../secret.txt",
		"/recordings/" + testBucket + "/../../etc/passwd",
		"/recordings/../secret.txt",
		"/recordings/..",
		"/recordings/../../../../../../etc/passwd",
		"/recordings/" + testBucket + "/%2e%2e/%2e%2e/secret.txt",
		"/recordings/" + testBucket + "/%2E%2E%2F%2E%2E%2Fsecret.txt",
		"/recordings/" + testBucket + "/..%2f..%2fsecret.txt",
		"/recordings/%2e%2e/secret.txt",
		"/recordings/%2e%2e%2fsecret.txt",
		"/recordings/" + testBucket + "/..%5c..%5csecret.txt",
		"/recordings/" + testBucket + "/%252e%252e/%252e%252e/secret.txt",
		"/recordings/" + testBucket + "/./../../secret.txt",
		"/recordings//etc/passwd",
		"/recordings/" + testBucket + "//etc/passwd",
		"/recordings/" + testBucket + "/" + relPath(base) + "/secret.txt",
		"/recordings/" + testBucket + "/link.json", // symlink to the secret
	}
	if _, err := l.Get(t.Context(), testBucket, "link.json"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(link.json) = %v; want ErrNotFound", err)
	}
	for _, p := range paths {
		resp, body := do(t, http.MethodGet, srv.URL, p)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %d; want 404 or 400", p, resp.StatusCode)
		}
		if strings.Contains(body, "SECRET") || strings.Contains(body, "root:") {
			t.Errorf("GET %s served a file outside the store: %q", p, body)
		}
	}
}

// do sends method to base+path with path as the literal request target (no cleaning by the
// client) and returns the response and its body.
func do(t *testing.T, method, base, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(body)
}

// relPath strips the leading slash of an absolute path, to append it after a bucket.
func relPath(abs string) string { return strings.TrimPrefix(filepath.ToSlash(abs), "/") }
