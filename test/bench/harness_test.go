package bench_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/footlight/footlight/internal/servertest"
)

// target is one kind of request: a signed POST of a fixed JSON body to URL+Path.
type target struct {
	URL    string // e.g. http://127.0.0.1:41234
	Path   string // e.g. /GetStage
	Body   []byte // the JSON body
	Creds  aws.Credentials
	Region string
}

// caller is one client goroutine's state: its own SigV4 signer (which keeps its own
// derived-key cache) over an http.Client that may be shared.
type caller struct {
	http   *http.Client
	signer *v4.Signer
}

func newCaller(hc *http.Client) *caller { return &caller{http: hc, signer: v4.NewSigner()} }

// reply is what one call got back.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request the way servertest.Client.Do (and the AWS SDKs) do: a fresh request, the
// body's SHA-256 as payload hash, signed with aws-sdk-go-v2's signer at time.Now(). It reads the
// whole reply so the connection goes back to the keep-alive pool. The body is kept only when
// keep is set (the benchmark loop does not keep it).
func (c *caller) do(ctx context.Context, t *target, keep bool) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+t.Path, bytes.NewReader(t.Body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(t.Body)
	if err := c.signer.SignHTTP(ctx, t.Creds, req, hex.EncodeToString(sum[:]), "ivs", t.Region, time.Now()); err != nil {
		return reply{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode, Header: resp.Header}
	if keep || resp.StatusCode != http.StatusOK {
		r.Body, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return r, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("POST %s: status %d: %s", t.Path, resp.StatusCode, r.Body)
	}
	return r, nil
}

// newHTTPClient is the keep-alive client all goroutines of one run share.
func newHTTPClient(tb testing.TB, clients int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: clients + 8, MaxIdleConns: clients + 8, IdleConnTimeout: time.Minute}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}

// result is one run's measurements.
type result struct {
	N         int
	Elapsed   time.Duration   // wall time of the whole run
	Latencies []time.Duration // one per request, sorted
}

func (r result) reqPerSec() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// percentile is the nearest-rank percentile p (0..100) of the sorted latencies.
func (r result) percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.999999) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// run sends n requests to t from clients goroutines, each with its own caller, taking work
// from a shared counter so no goroutine idles while others still have requests. Each
// request's latency (sign + round trip + reading the reply) goes to its goroutine's slice.
// The first failure (error or non-200) stops all goroutines and is returned.
func run(ctx context.Context, hc *http.Client, t *target, n, clients int) (result, error) {
	clients = max(1, min(clients, n))
	var (
		next     atomic.Int64 // requests handed out
		failed   atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	lat := make([][]time.Duration, clients)
	start := time.Now()
	for g := range clients {
		wg.Add(1)
		go func() { // one client; ends when the work or the run (on a failure) is done
			defer wg.Done()
			c := newCaller(hc)
			mine := make([]time.Duration, 0, n/clients+1)
			for !failed.Load() && next.Add(1) <= int64(n) {
				t0 := time.Now()
				_, err := c.do(ctx, t, false)
				mine = append(mine, time.Since(t0))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
			lat[g] = mine
		}()
	}
	wg.Wait()
	res := result{N: n, Elapsed: time.Since(start)}
	if firstErr != nil {
		return res, firstErr
	}
	for _, l := range lat {
		res.Latencies = append(res.Latencies, l...)
	}
	slices.Sort(res.Latencies)
	if len(res.Latencies) != n {
		return res, fmt.Errorf("%d latencies recorded for %d requests", len(res.Latencies), n)
	}
	return res, nil
}

// scenario names, in the order BenchmarkAPI runs them.
const (
	scenarioGetStage    = "GetStage"
	scenarioCreateStage = "CreateStage"
	scenarioBare        = "Bare"
)

var scenarios = []string{scenarioGetStage, scenarioBare, scenarioCreateStage}

// setup starts what a scenario needs (a real server, plus the bare one for Bare) and returns
// the request to repeat. Everything stops at tb's cleanup.
func setup(tb testing.TB, scenario string) *target {
	tb.Helper()
	base := targetOf(servertest.Start(tb, nil))
	if scenario == scenarioCreateStage {
		return createStageTarget(tb, base)
	}
	get := getStageTarget(tb, base)
	if scenario == scenarioGetStage {
		return get
	}
	captured, err := newCaller(http.DefaultClient).do(context.Background(), get, true)
	if err != nil {
		tb.Fatalf("capture a GetStage reply: %v", err)
	}
	bare := get.clone()
	bare.URL = startBare(tb, captured)
	return bare
}

// targetOf is a request to s with its credentials, path and body still to set.
func targetOf(s *servertest.Server) target {
	return target{URL: s.URL, Creds: aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, Region: s.Region}
}

// createStageTarget is a CreateStage of a stage named "bench" on the server of base.
func createStageTarget(tb testing.TB, base target) *target {
	base.Path, base.Body = "/CreateStage", mustJSON(tb, map[string]string{"name": "bench"})
	return &base
}

// getStageTarget creates one stage on the server of base and returns a GetStage of it.
func getStageTarget(tb testing.TB, base target) *target {
	tb.Helper()
	r, err := newCaller(http.DefaultClient).do(context.Background(), createStageTarget(tb, base), true)
	if err != nil {
		tb.Fatalf("CreateStage: %v", err)
	}
	var out struct {
		Stage struct {
			Arn string `json:"arn"`
		} `json:"stage"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Stage.Arn == "" {
		tb.Fatalf("CreateStage reply %s: %v", r.Body, err)
	}
	get := base
	get.Path, get.Body = "/GetStage", mustJSON(tb, map[string]string{"arn": out.Stage.Arn})
	return &get
}

func (t *target) clone() *target { c := *t; return &c }

// startBare starts a plain net/http server whose handler drains the request body and answers
// with the captured reply's status, headers (all but Date, which net/http writes itself) and
// bytes: the floor a Go HTTP server with this client reaches on this machine.
func startBare(tb testing.TB, captured reply) string {
	h := captured.Header.Clone()
	h.Del("Date")
	body := captured.Body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(captured.Status)
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

func mustJSON(tb testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
