package api

// In-package tests of --aws-quotas: the API over a real SQLite store, called through
// ServeHTTP with SigV4-signed requests, on a clock the test moves. test/compat/quota_test.go
// runs the same rules through the real binary with the aws CLI and boto3.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/footlight/footlight/internal/sigv4"
	"github.com/footlight/footlight/internal/stage"
	"github.com/footlight/footlight/internal/store"
	"github.com/footlight/footlight/internal/token"
)

const (
	rigRegion = "us-east-1"
	rigKey    = "AKIAQUOTATEST0000001"
	rigSecret = "quota-test-secret"
)

type rigCredentials struct{}

func (rigCredentials) Secret(id string) (string, bool) { return rigSecret, id == rigKey }

// quotaRig is an API on a real store whose clock only the test moves.
type quotaRig struct {
	api    *API
	clock  atomic.Int64 // unix nanoseconds
	signer *v4.Signer
}

func newQuotaRig(t *testing.T, quotas bool) *quotaRig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := token.LoadOrCreateKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	r := &quotaRig{signer: v4.NewSigner()}
	r.clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, r.clock.Load()) }
	r.api, err = New(Config{
		Region:   rigRegion,
		Account:  "123456789012",
		Stages:   stage.New(stage.Config{Store: st, Region: rigRegion, Account: "123456789012", Endpoints: stage.EndpointConfig{PublicURL: "http://127.0.0.1:9", RTMPListen: "off", RTMPSListen: "off"}}),
		Store:    st,
		Sessions: st,
		Minter:   token.NewIssuer(key),
		Verifier: sigv4.New(sigv4.Config{Region: rigRegion, Service: "ivs", Credentials: rigCredentials{}}),
		Quotas:   quotas,
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// advance moves the rig's clock on.
func (r *quotaRig) advance(d time.Duration) { r.clock.Add(int64(d)) }

// reply is what ServeHTTP answered.
type reply struct {
	status int
	code   string // x-amzn-ErrorType
	body   map[string]any
}

// do serves one signed request (unsigned when sign is false) and decodes the reply.
func (r *quotaRig) do(t *testing.T, method, escapedPath, body string, sign bool) reply {
	t.Helper()
	req := httptest.NewRequest(method, "http://footlight.test"+escapedPath, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: rigKey, SecretAccessKey: rigSecret}
		if err := r.signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ivs", rigRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	r.api.ServeHTTP(rec, req)
	out := reply{status: rec.Code, code: rec.Header().Get("x-amzn-ErrorType")}
	if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
		t.Fatalf("%s %s: reply %d is not a JSON object: %q", method, escapedPath, rec.Code, rec.Body.String())
	}
	return out
}

// call is a signed POST /<op> with a JSON body.
func (r *quotaRig) call(t *testing.T, op string, in any) reply {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return r.do(t, http.MethodPost, "/"+op, string(b), true)
}

func p384PEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// quotaCase is one counted resource: how to create one and where its ARN is in the reply.
type quotaCase struct {
	name, create, delete, member string
	quota                        int
	input                        func(t *testing.T, i int) any
}

var quotaCases = []quotaCase{
	{"stages", "CreateStage", "DeleteStage", "stage", 1000,
		func(_ *testing.T, i int) any { return map[string]any{"name": fmt.Sprint("s", i)} }},
	{"storage configurations", "CreateStorageConfiguration", "DeleteStorageConfiguration", "storageConfiguration", 5,
		func(_ *testing.T, i int) any {
			return map[string]any{"name": fmt.Sprint("sc", i), "s3": map[string]string{"bucketName": "quota-bucket"}}
		}},
	{"encoder configurations", "CreateEncoderConfiguration", "DeleteEncoderConfiguration", "encoderConfiguration", 20,
		func(_ *testing.T, i int) any { return map[string]any{"name": fmt.Sprint("ec", i)} }},
	{"public keys", "ImportPublicKey", "DeletePublicKey", "publicKey", 3,
		func(t *testing.T, i int) any {
			return map[string]any{"name": fmt.Sprint("pk", i), "publicKeyMaterial": p384PEM(t)}
		}},
}

// createMany makes n resources of c, 8 requests at a time; it returns the ARNs and fails t
// on any non-200. The create's rate quota is not under test: moving the clock before each
// call was not enough, since 8 goroutines can move it 8 s and then call at once, more than
// the bucket's burst. So the bucket gets room for all n, and is put back afterwards.
func (r *quotaRig) createMany(t *testing.T, c quotaCase, n int) []string {
	t.Helper()
	if saved, ok := r.api.rates[c.create]; ok {
		r.api.rates[c.create] = &bucket{rate: 1000, burst: float64(n), tokens: float64(n), last: time.Unix(0, r.clock.Load())}
		defer func() { r.api.rates[c.create] = saved }()
	}
	arns := make([]string, n)
	errs := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				r.advance(time.Second)
				rep := r.call(t, c.create, c.input(t, i))
				if rep.status != http.StatusOK {
					errs[i] = fmt.Sprintf("%s %d of %d: %d %s %v", c.create, i+1, n, rep.status, rep.code, rep.body)
					continue
				}
				res, _ := rep.body[c.member].(map[string]any)
				arns[i], _ = res["arn"].(string)
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	return arns
}

// TestResourceQuotas: with quotas on, each counted resource can be created up to its IVS
// quota; the next create is 402 ServiceQuotaExceededException in AWS's error shape and stores
// nothing; deleting one makes room for exactly one more. With quotas off, the quota is no limit.
func TestResourceQuotas(t *testing.T) {
	for _, c := range quotaCases {
		t.Run(c.name, func(t *testing.T) {
			r := newQuotaRig(t, true)
			arns := r.createMany(t, c, c.quota)
			r.advance(time.Second)
			rep := r.call(t, c.create, c.input(t, c.quota))
			wantMsg := fmt.Sprintf("at most %d %s", c.quota, c.name)
			if rep.status != http.StatusPaymentRequired || rep.code != "ServiceQuotaExceededException" ||
				rep.body["exceptionMessage"] != rep.body["message"] || !strings.Contains(fmt.Sprint(rep.body["message"]), wantMsg) {
				t.Fatalf("%s beyond the quota of %d: %d %s %v, want 402 ServiceQuotaExceededException saying %q",
					c.create, c.quota, rep.status, rep.code, rep.body, wantMsg)
			}
			if n := r.count(t, c); n != c.quota {
				t.Fatalf("%d %s exist after the refusal, want %d", n, c.name, c.quota)
			}
			r.advance(time.Second)
			if rep := r.call(t, c.delete, map[string]string{"arn": arns[0]}); rep.status != http.StatusOK {
				t.Fatalf("%s: %d %v", c.delete, rep.status, rep.body)
			}
			for i, want := range []int{http.StatusOK, http.StatusPaymentRequired} {
				r.advance(time.Second)
				if rep := r.call(t, c.create, c.input(t, c.quota+1+i)); rep.status != want {
					t.Fatalf("create %d after a delete: %d %s, want %d", i+1, rep.status, rep.code, want)
				}
			}
		})
	}
	for _, c := range quotaCases {
		t.Run(c.name+" without quotas", func(t *testing.T) {
			r := newQuotaRig(t, false)
			r.createMany(t, c, c.quota+1)
			if n := r.count(t, c); n != c.quota+1 {
				t.Fatalf("%d %s exist, want %d", n, c.name, c.quota+1)
			}
		})
	}
}

// count lists every resource of c.
func (r *quotaRig) count(t *testing.T, c quotaCase) int {
	t.Helper()
	list := "List" + strings.TrimPrefix(strings.TrimPrefix(c.create, "Create"), "Import") + "s"
	member := map[string]string{"stage": "stages", "storageConfiguration": "storageConfigurations",
		"encoderConfiguration": "encoderConfigurations", "publicKey": "publicKeys"}[c.member]
	n, next := 0, ""
	for range 20 {
		r.advance(time.Second)
		in := map[string]any{"maxResults": 100}
		if next != "" {
			in["nextToken"] = next
		}
		rep := r.call(t, list, in)
		items, ok := rep.body[member].([]any)
		if rep.status != http.StatusOK || !ok {
			t.Fatalf("%s: %d %v", list, rep.status, rep.body)
		}
		n += len(items)
		if next, _ = rep.body["nextToken"].(string); next == "" {
			return n
		}
	}
	t.Fatalf("%s: still paging after 20 pages", list)
	return 0
}

// TestResourceQuotaConcurrentCreates: the count is checked inside the create's transaction,
// so 20 concurrent creates against a quota of 5 leave exactly 5, however they interleave.
func TestResourceQuotaConcurrentCreates(t *testing.T) {
	r := newQuotaRig(t, true)
	c := quotaCases[1] // storage configurations, quota 5
	// The create's rate quota (5 TPS) is not under test: 20 calls at once would spend it
	// before the count quota, whatever the clock does. Give it room for all of them.
	r.api.rates[c.create] = &bucket{rate: 100, burst: 100, tokens: 100, last: time.Unix(0, r.clock.Load())}
	statuses := make([]int, 20)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = r.call(t, c.create, c.input(t, i)).status
		})
	}
	wg.Wait()
	byStatus := map[int]int{}
	for _, s := range statuses {
		byStatus[s]++
	}
	if byStatus[http.StatusOK] != 5 || byStatus[http.StatusPaymentRequired] != 15 {
		t.Fatalf("20 concurrent creates answered %v, want 5 × 200 and 15 × 402", byStatus)
	}
	if n := r.count(t, c); n != 5 {
		t.Fatalf("%d storage configurations exist, want 5", n)
	}
}

// route is how a client sends an operation: method and escaped path.
func route(op string) (method, path string) {
	tags := "/tags/" + url.PathEscape("arn:aws:ivs:us-east-1:123456789012:stage/abcdABCD1234")
	switch op {
	case "TagResource":
		return http.MethodPost, tags
	case "UntagResource":
		return http.MethodDelete, tags + "?tagKeys=k"
	case "ListTagsForResource":
		return http.MethodGet, tags
	}
	return http.MethodPost, "/" + op
}

// TestRateQuotas: with quotas on and the clock stopped, every operation the API serves
// answers its own rate quota's worth of calls (whatever each answers: the bodies are mostly
// invalid), then 429 ThrottlingException; other operations are unaffected, and 1/rate s later
// exactly one more call passes. Unsigned calls, refused with 403, spend nothing.
func TestRateQuotas(t *testing.T) {
	r := newQuotaRig(t, true)
	ops := r.api.Operations()
	sort.Strings(ops)
	if len(ops) < 27 {
		t.Fatalf("the API serves %d operations: %v", len(ops), ops)
	}
	want := map[string]float64{"CreateParticipantToken": 50, "GetStage": 5, "CreateStage": 5, "ListStageSessions": 5,
		"CreateStorageConfiguration": 5, "GetEncoderConfiguration": 5, "ImportPublicKey": 3, "DeletePublicKey": 3,
		"TagResource": 10, "UntagResource": 10, "ListTagsForResource": 10}
	for op, rate := range want {
		if got := rateQuota(op); got != rate {
			t.Errorf("rate quota of %s: %v TPS, want %v (IVS-BEHAVIOUR §5)", op, got, rate)
		}
	}
	for _, op := range ops {
		method, path := route(op)
		for range 3 {
			if rep := r.do(t, method, path, "{}", false); rep.status != http.StatusForbidden {
				t.Fatalf("unsigned %s: %d, want 403", op, rep.status)
			}
		}
		rate := int(rateQuota(op))
		for i := range rate {
			if rep := r.do(t, method, path, "{}", true); rep.status == http.StatusTooManyRequests {
				t.Fatalf("%s call %d of a burst of %d: throttled", op, i+1, rate)
			}
		}
		rep := r.do(t, method, path, "{}", true)
		if rep.status != http.StatusTooManyRequests || rep.code != "ThrottlingException" ||
			rep.body["message"] != "Rate exceeded" || rep.body["exceptionMessage"] != "Rate exceeded" {
			t.Fatalf("%s call %d in the same instant: %d %s %v, want 429 ThrottlingException", op, rate+1, rep.status, rep.code, rep.body)
		}
	}
	// Every bucket is empty now; d later each holds floor(d × rate) tokens: one call of a 3 or
	// 5 TPS operation passes, 3 of a 10 TPS one, 16 of CreateParticipantToken's 50.
	d := time.Duration(math.Ceil(float64(time.Second) / 3))
	r.advance(d)
	for _, op := range ops {
		method, path := route(op)
		refilled := int(d.Seconds() * rateQuota(op))
		for i := range refilled {
			if rep := r.do(t, method, path, "{}", true); rep.status == http.StatusTooManyRequests {
				t.Fatalf("%s call %d of %d after %v: throttled", op, i+1, refilled, d)
			}
		}
		if rep := r.do(t, method, path, "{}", true); rep.status != http.StatusTooManyRequests {
			t.Fatalf("%s call %d after %v: %d, want 429", op, refilled+1, d, rep.status)
		}
	}
}

// TestNoRateQuotasByDefault: without quotas, three times any rate quota in one instant is
// never throttled.
func TestNoRateQuotasByDefault(t *testing.T) {
	r := newQuotaRig(t, false)
	for _, op := range r.api.Operations() {
		method, path := route(op)
		for i := range 3 * int(rateQuota(op)) {
			if rep := r.do(t, method, path, "{}", true); rep.status == http.StatusTooManyRequests {
				t.Fatalf("%s call %d: throttled with quotas off", op, i+1)
			}
		}
	}
}

// TestBucket: refill is proportional to elapsed time, capped at the burst; a clock that goes
// back refills nothing.
func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		steps []time.Duration // offsets from t0 of successive takes
		want  []bool
	}{
		{"burst then empty", []time.Duration{0, 0, 0}, []bool{true, true, false}},
		{"half a token is not one", []time.Duration{0, 0, 250 * time.Millisecond, 500 * time.Millisecond}, []bool{true, true, false, true}},
		{"idle caps at the burst", []time.Duration{0, 0, time.Hour, time.Hour, time.Hour}, []bool{true, true, true, true, false}},
		{"clock going back", []time.Duration{0, 0, -time.Hour, -time.Hour}, []bool{true, true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bucket{rate: 2, burst: 2, tokens: 2, last: t0}
			var got []bool
			for _, d := range tt.steps {
				got = append(got, b.take(t0.Add(d)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("takes at %v: %v, want %v", tt.steps, got, tt.want)
			}
		})
	}
}
