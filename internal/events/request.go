package events

import (
	"net/http"
	"strings"
)

// Path is where the events endpoint is mounted: the stage's `events` endpoint is
// `<public-url>/events`, and IVS clients append `/<stageId>`.
const Path = "/events"

// stageIDFromPath returns the stage id a request's path names after Path ("" for Path itself
// or Path + "/"), or ErrBadPath.
func stageIDFromPath(p string) (string, error) {
	rest, ok := strings.CutPrefix(p, Path)
	if !ok || rest != "" && rest[0] != '/' {
		return "", ErrBadPath
	}
	rest = strings.Trim(rest, "/")
	if strings.Contains(rest, "/") {
		return "", ErrBadPath
	}
	return rest, nil
}

// requestToken finds the participant token. IVS clients send it as the only WebSocket
// subprotocol (browsers cannot set other headers); the first subprotocol shaped like a JWT
// wins, then ?token=. fromHeader says the server must echo it as the selected subprotocol, or
// browsers fail the handshake.
func requestToken(r *http.Request) (tok string, fromHeader bool, err error) {
	protocols := headerList(r.Header, "Sec-WebSocket-Protocol")
	for _, p := range protocols {
		if strings.Count(p, ".") == 2 {
			return p, true, nil
		}
	}
	if q := r.URL.Query().Get("token"); q != "" {
		return q, false, nil
	}
	if len(protocols) > 0 {
		return protocols[0], true, nil // not a JWT: Verify says why
	}
	return "", false, ErrNoToken
}

// isUpgrade reports whether r asks for a WebSocket (RFC 6455 §4.1), so a plain GET never joins
// the stage.
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		hasToken(headerList(r.Header, "Connection"), "upgrade") &&
		hasToken(headerList(r.Header, "Upgrade"), "websocket")
}

// headerList splits every value of a comma-separated header into trimmed, non-empty items.
func headerList(h http.Header, name string) []string {
	var items []string
	for _, v := range h.Values(name) {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	return items
}

func hasToken(items []string, want string) bool {
	for _, item := range items {
		if strings.EqualFold(item, want) {
			return true
		}
	}
	return false
}
