// Package web serves Footlight's browser side, embedded in the binary with go:embed: the
// console page at /, the operators' page at /stages, and the JavaScript client module and
// the pages' scripts and styles under /web/ (docs/CLIENT.md).
//
// It imports no other Footlight package and holds no state: the pages talk to the server over
// HTTP like any other client (the media endpoints, the events websocket, the SigV4 API).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// The paths Handler serves; the server mounts it on each (GET only).
const (
	ConsolePath = "/"
	StagesPath  = "/stages"
	AssetPrefix = "/web/"
)

// pageCSP keeps the pages to their own scripts and styles. connect-src stays open: a token's
// endpoints may name another host than the page's (a --public-url behind a proxy).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src * ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// file is one embedded file, ready to serve.
type file struct {
	name string // for the Content-Type and ServeContent
	body []byte
	etag string
}

// handler serves the embedded files; files is built once and only read.
type handler struct {
	files map[string]*file // by request path
}

// Handler returns the http.Handler for ConsolePath, StagesPath and everything under
// AssetPrefix. It panics only if the embedded tree is broken, which the package's tests rule
// out.
func Handler() http.Handler {
	h := &handler{files: map[string]*file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{name: path.Base(p), body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		h.files[AssetPrefix+strings.TrimPrefix(p, "static/")] = f
		return nil
	})
	if err != nil {
		panic("web: embedded files: " + err.Error())
	}
	h.files[ConsolePath] = h.files[AssetPrefix+"index.html"]
	h.files[StagesPath] = h.files[AssetPrefix+"stages.html"]
	return h
}

// ServeHTTP answers GET and HEAD with the file the path names, 404 otherwise. Every response
// is revalidated (no-cache with an ETag), so a new binary's files are picked up at once.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := h.files[r.URL.Path]
	if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType(f.name))
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(f.name, ".html") {
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("Referrer-Policy", "no-referrer")
	} else {
		// A page on any origin may import the client module (a module script is fetched
		// with CORS); nothing here is private.
		hd.Set("Access-Control-Allow-Origin", "*")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// contentType is the file's media type, always with a charset for text: Chromium refuses a
// module script served without a JavaScript type.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
