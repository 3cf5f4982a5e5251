package storage

import (
	"errors"
	"net/http"
	"path"
	"strings"
)

// contentTypes types served objects by extension; others are application/octet-stream.
var contentTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".mp4":  "video/mp4",
	".m4s":  "video/mp4",
	".ts":   "video/mp2t",
	".jpg":  "image/jpeg",
	".json": "application/json",
}

// Handler serves the store read-only: GET and HEAD of /recordings/<bucket>/<key>, to be
// mounted at "/recordings/". Every answer carries CORS headers so a player on another origin
// can fetch HLS. Directories, missing objects and any path that is not a valid bucket and
// key (so no traversal) are 404; other methods are 405.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(l.serveHTTP)
}

func (l *Local) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/recordings/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	bucket, key, _ := strings.Cut(rest, "/")
	f, err := l.open(bucket, key) // checks bucket and key: no "..", no absolute path
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrInvalidBucket) {
			http.NotFound(w, r)
		} else {
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", contentType(key))
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// contentType is the Content-Type served for key.
func contentType(key string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(key))]; ok {
		return t
	}
	return "application/octet-stream"
}
