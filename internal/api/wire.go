package api

import (
	"time"

	"github.com/footlight/footlight/internal/store"
)

// Wire types shared by several resource families. Timestamps are ISO 8601 strings, not the
// restJson1 default epoch numbers: the model marks them timestampFormat iso8601 (SPEC §2.3).

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tagsOut(t store.Tags) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// pageSize applies a list operation's documented default page size (SPEC §8).
func pageSize(maxResults *int, def int) int {
	if maxResults == nil {
		return def
	}
	return *maxResults
}

// pageInput is the pagination pair every list operation takes.
type pageInput struct {
	NextToken  string `json:"nextToken"`
	MaxResults *int   `json:"maxResults"`
}

func (p pageInput) page(def int) store.Page {
	return store.Page{Token: p.NextToken, Max: pageSize(p.MaxResults, def)}
}
