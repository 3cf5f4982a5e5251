package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The canonical request of the SigV4 spec ("Create a canonical request",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
//
//	Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// It is rebuilt from the request as the server received it, never by
// re-signing, so that whatever headers the client chose to sign are honoured.

// appendCanonicalRequest appends the canonical request of r to b. payload is
// the hex SHA-256 of the body.
func appendCanonicalRequest(b []byte, r *http.Request, signed string, payload []byte) ([]byte, error) {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendURIPath(b, r.URL.EscapedPath())
	b = append(b, '\n')
	b = appendQuery(b, r.URL.RawQuery)
	b = append(b, '\n')
	b, err := appendHeaders(b, r, signed)
	if err != nil {
		return b, err
	}
	b = append(b, '\n')
	b = append(b, signed...)
	b = append(b, '\n')
	return append(b, payload...), nil
}

// appendURIPath appends the canonical URI. Every service but S3 encodes the
// path twice: the client URI-encodes the already-escaped path it sends, so
// "%3A" on the wire is "%253A" in the canonical request (botocore's
// quote(path, safe='/~'), and the Go and JS SDKs do the same).
func appendURIPath(b []byte, escaped string) []byte {
	if escaped == "" {
		return append(b, '/')
	}
	return appendEscaped(b, escaped, true)
}

// appendEscaped applies the spec's UriEncode: unreserved characters
// (A-Z a-z 0-9 - _ . ~) stay, all other bytes become %XX with uppercase hex;
// '/' stays only in paths.
func appendEscaped(b []byte, s string, keepSlash bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '/' && keepSlash {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// appendQuery appends the canonical query string: each name and value
// decoded then UriEncoded (so a space is %20, never +), pairs sorted by
// name then value. The spec sorts after encoding, which orders differently
// from sorting decoded strings ("a%2Fb" < "a-b" but "a-b" < "a/b").
func appendQuery(b []byte, raw string) []byte {
	type param struct{ name, value string }
	var params []param
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair != "" {
			name, value, _ := strings.Cut(pair, "=")
			params = append(params, param{encodeQuery(name), encodeQuery(value)})
		}
	}
	slices.SortFunc(params, func(x, y param) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.name...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	return b
}

// encodeQuery re-encodes one query component. A malformed escape is encoded
// as sent: the client cannot have meant anything else by it.
func encodeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		s = u
	}
	return string(appendEscaped(nil, s, false))
}

// appendHeaders appends "name:value\n" for each name of SignedHeaders, in
// the order the client gave (the spec has it sort them, and the signature
// covers the list as sent).
func appendHeaders(b []byte, r *http.Request, signed string) ([]byte, error) {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		var ok bool
		if b, ok = appendHeaderValue(b, r, name); !ok {
			return b, fail(ErrIncomplete, "Signed header '%s' is not present in the request.", name)
		}
		b = append(b, '\n')
	}
	return b, nil
}

// appendHeaderValue appends the values of header name joined by ','. Go's
// server moves Host out of r.Header into r.Host, and Content-Length may be
// known only as r.ContentLength.
func appendHeaderValue(b []byte, r *http.Request, name string) ([]byte, bool) {
	if name == "host" {
		return appendTrimmed(b, r.Host), r.Host != ""
	}
	values := headerValues(r.Header, name)
	if len(values) == 0 {
		if name == "content-length" && r.ContentLength >= 0 {
			return strconv.AppendInt(b, r.ContentLength, 10), true
		}
		return b, false
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b, true
}

// headerValues looks name up in h without textproto.CanonicalMIMEHeaderKey,
// which allocates for the lowercase names SignedHeaders holds.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if name == "" || len(name) > len(buf) {
		return h.Values(name)
	}
	key, upper := buf[:len(name)], true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		key[i], upper = c, c == '-'
	}
	return h[string(key)]
}

// appendTrimmed appends v as the spec's Trimall does: surrounding white
// space removed, each inner run of spaces collapsed to one.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	for i := 0; i < len(v); i++ {
		if v[i] != ' ' || i == 0 || v[i-1] != ' ' {
			b = append(b, v[i])
		}
	}
	return b
}
