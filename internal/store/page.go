package store

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Page asks for one page of a listing: up to Max items after the position Token names.
type Page struct {
	Token string // opaque; "" for the first page
	Max   int
}

// pageOf cuts a result fetched with one row of look-ahead into a page and its next token.
func pageOf[T any](rows []T, seqs []int64, max int, scope string) ([]T, string, error) {
	if rows == nil {
		rows = []T{}
	}
	if len(rows) <= max {
		return rows, "", nil
	}
	return rows[:max], encodeSeqToken(scope, seqs[max-1]), nil
}

// Page tokens carry the listing's scope so a token is refused by any other listing.
func encodeSeqToken(scope string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "|" + strconv.FormatInt(seq, 10)))
}

func decodeSeqToken(scope, tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, ErrInvalidPageToken
	}
	got, num, ok := strings.Cut(string(raw), "|")
	seq, err := strconv.ParseInt(num, 10, 64)
	if !ok || got != scope || err != nil || seq <= 0 {
		return 0, ErrInvalidPageToken
	}
	return seq, nil
}
