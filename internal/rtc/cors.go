package rtc

import "net/http"

// withCORS lets a page on any origin use the media endpoints (DESIGN.md "CORS"): a preflight
// OPTIONS is answered here with 204, and every response names the origin and exposes the
// headers a WHIP client reads. Authorization must be listed by name: "*" does not cover it
// (Fetch standard, CORS-safelisted request headers).
func withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		if origin == "" {
			origin = "*"
		} else {
			h.Add("Vary", "Origin")
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Location, ETag, Link")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
