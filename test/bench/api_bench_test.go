// Package bench_test measures Footlight's control-plane API over real loopback HTTP, signed
// with SigV4 the way the AWS SDKs sign, against a bare net/http baseline in the same run.
// docs/BENCHMARKS.md has the command, the figures and what they mean.
package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/footlight/footlight/internal/servertest"
)

// BenchmarkAPI runs {GetStage, CreateStage, Bare} × {clients=1, clients=64}. b.N is the total
// number of requests, spread over the clients; ns/op is wall time per request (1/throughput,
// not latency). req/s is b.N over the run's wall time; p50-ms and p99-ms are percentiles of
// the per-request latencies (sign + round trip + reading the reply). Each sub-benchmark
// starts its own server. Bare runs right after GetStage at the same concurrency, so the
// ratio of the two compares runs seconds apart on this noisy machine. See
// docs/BENCHMARKS.md for the command and the figures.
func BenchmarkAPI(b *testing.B) {
	for _, clients := range []int{1, 64} {
		for _, scenario := range scenarios {
			b.Run(fmt.Sprintf("%s/clients=%d", scenario, clients), func(b *testing.B) {
				t := setup(b, scenario)
				hc := newHTTPClient(b, clients)
				// Open the keep-alive connections and warm the server outside the timer.
				if _, err := run(context.Background(), hc, t, min(clients*4, 256), clients); err != nil {
					b.Fatalf("warm-up: %v", err)
				}
				b.ResetTimer()
				res, err := run(context.Background(), hc, t, b.N, clients)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Elapsed.Nanoseconds())/float64(res.N), "ns/op")
				b.ReportMetric(res.reqPerSec(), "req/s")
				b.ReportMetric(ms(res.percentile(50)), "p50-ms")
				b.ReportMetric(ms(res.percentile(99)), "p99-ms")
			})
		}
	}
}

// TestBenchHarness runs every scenario briefly (20 requests, 2 clients) so that plain
// `go test` exercises the benchmark's code, and checks what the benchmark takes for granted:
// every request succeeds, CreateStage really creates, and Bare answers with GetStage's bytes.
func TestBenchHarness(t *testing.T) {
	const n, clients = 20, 2
	ctx := context.Background()
	for _, scenario := range scenarios {
		t.Run(scenario, func(t *testing.T) {
			tgt := setup(t, scenario)
			hc := newHTTPClient(t, clients)
			res, err := run(ctx, hc, tgt, n, clients)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.N != n || len(res.Latencies) != n || res.reqPerSec() <= 0 || res.percentile(99) < res.percentile(50) {
				t.Fatalf("result: N=%d latencies=%d req/s=%v p50=%v p99=%v", res.N, len(res.Latencies), res.reqPerSec(), res.percentile(50), res.percentile(99))
			}
		})
	}

	t.Run("CreateStage creates", func(t *testing.T) {
		s := servertest.Start(t, nil)
		if _, err := run(ctx, newHTTPClient(t, clients), createStageTarget(t, targetOf(s)), n, clients); err != nil {
			t.Fatalf("run: %v", err)
		}
		var out struct {
			Stages []struct {
				Name string `json:"name"`
			} `json:"stages"`
		}
		if err := s.Client().Call(ctx, "ListStages", map[string]int{"maxResults": 100}, &out); err != nil {
			t.Fatalf("ListStages: %v", err)
		}
		if len(out.Stages) != n {
			t.Fatalf("ListStages: %d stages after %d CreateStage calls", len(out.Stages), n)
		}
	})

	t.Run("Bare replies as GetStage", func(t *testing.T) {
		s := servertest.Start(t, nil)
		get := getStageTarget(t, targetOf(s))
		c := newCaller(http.DefaultClient)
		real, err := c.do(ctx, get, true)
		if err != nil {
			t.Fatalf("GetStage: %v", err)
		}
		bare := get.clone()
		bare.URL = startBare(t, real)
		got, err := c.do(ctx, bare, true)
		if err != nil {
			t.Fatalf("bare: %v", err)
		}
		if !bytes.Equal(got.Body, real.Body) {
			t.Fatalf("bare body %s, want %s", got.Body, real.Body)
		}
		for k := range real.Header {
			if k != "Date" && got.Header.Get(k) != real.Header.Get(k) {
				t.Errorf("bare header %s = %q, want %q", k, got.Header.Get(k), real.Header.Get(k))
			}
		}
		if len(got.Header) != len(real.Header) {
			t.Errorf("bare headers %v, want %v", got.Header, real.Header)
		}
	})
}
