package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

// IVS's account quotas and API rate limits (IVS-BEHAVIOUR.md §5), enforced only when
// Config.Quotas is set (`--aws-quotas`): a self-hosted server has no reason to refuse a sixth
// storage configuration, but a team may want to see how its code copes with the refusals.

// resourceQuotas is how many resources of each type an account may hold in a region.
var resourceQuotas = map[string]int{
	arn.TypeStage:                1000,
	arn.TypeStorageConfiguration: 5,
	arn.TypeEncoderConfiguration: 20,
	arn.TypePublicKey:            3,
}

// quotaNouns name the resource types in ServiceQuotaExceededException messages.
var quotaNouns = map[string]string{
	arn.TypeStage:                "stages",
	arn.TypeStorageConfiguration: "storage configurations",
	arn.TypeEncoderConfiguration: "encoder configurations",
	arn.TypePublicKey:            "public keys",
}

// rateQuota is an operation's API rate quota in transactions per second; each operation has
// its own, as in the IVS Real-Time user guide's "API Call Rate Quotas" table.
func rateQuota(op string) float64 {
	switch op {
	case "CreateParticipantToken":
		return 50
	case "ImportPublicKey", "GetPublicKey", "ListPublicKeys", "DeletePublicKey":
		return 3
	case "TagResource", "UntagResource", "ListTagsForResource":
		return 10
	}
	return 5 // every other stage, session, storage and encoder operation
}

// resourceGuards are the guards a create of a resource of type typ runs in its transaction:
// the count quota when quotas are on, nothing otherwise.
func (a *API) resourceGuards(typ string) []store.Guard {
	if max := a.resourceQuota(typ); max > 0 {
		return []store.Guard{store.Limit(typ, max)}
	}
	return nil
}

// resourceQuota is how many resources of type typ may exist; 0 when quotas are off.
func (a *API) resourceQuota(typ string) int {
	if !a.cfg.Quotas {
		return 0
	}
	return resourceQuotas[typ]
}

// quotaExceeded is the reply to a create beyond a count quota (SPEC §3.1: 402, not 429).
func quotaExceeded(e *store.LimitError) *Error {
	noun := quotaNouns[e.Type]
	if noun == "" {
		noun = e.Type + " resources"
	}
	return &Error{codeQuota, http.StatusPaymentRequired, fmt.Sprintf(
		"Request would cause a service quota to be exceeded: an account may have at most %d %s in a region", e.Max, noun)}
}

// throttled is the reply to a call beyond its operation's rate quota. The model has no
// throttling error; 429 ThrottlingException is what AWS sends and SDKs retry (SPEC §3.2).
func throttled() *Error {
	return &Error{codeThrottling, http.StatusTooManyRequests, "Rate exceeded"}
}

// rateLimits holds one token bucket per operation; the map is read-only after newRateLimits.
type rateLimits map[string]*bucket

func newRateLimits(ops map[string]operation, now time.Time) rateLimits {
	r := make(rateLimits, len(ops))
	for name := range ops {
		rate := rateQuota(name)
		r[name] = &bucket{rate: rate, burst: rate, tokens: rate, last: now}
	}
	return r
}

// allow takes a token for op at now; a nil rateLimits (quotas off) allows everything.
func (r rateLimits) allow(op string, now time.Time) bool {
	b := r[op]
	return b == nil || b.take(now)
}

// bucket is a token bucket: rate tokens a second, at most burst kept (one second's worth, so
// a client may spend a whole second's quota at once); it starts full.
type bucket struct {
	rate, burst float64
	mu          sync.Mutex // guards tokens and last
	tokens      float64
	last        time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now.Sub(b.last); d > 0 { // a clock going back refills nothing
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
