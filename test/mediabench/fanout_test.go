// Package mediabench_test measures media forwarding through the real `footlight serve`
// binary: one publisher, N subscribers over loopback (docs/BENCHMARKS.md, "Media forwarding").
package mediabench_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// joinParallel is how many subscribers POST and connect at once while a run sets up.
const joinParallel = 10

// fanout is a running publisher with its subscribers.
type fanout struct {
	tb    testing.TB
	b     *bench
	pub   *publisher
	subs  []*subscriber
	joins []time.Duration // POST to first whole keyframe, one per subscriber
}

// startFanout starts a server, a publisher sending c, and n subscribers, and waits until every
// subscriber has received a whole keyframe.
func startFanout(tb testing.TB, c clip, n int) *fanout {
	tb.Helper()
	f := &fanout{tb: tb, b: startBench(tb)}
	f.pub = f.b.startPublisher(c)
	deadline := time.Now().Add(15 * time.Second)
	for f.pub.sentVideo.Load() < 30 || f.pub.pc.ConnectionState().String() != "connected" {
		if time.Now().After(deadline) {
			tb.Fatalf("publisher not connected and sending within 15 s (state %s)", f.pub.pc.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}

	f.subs = make([]*subscriber, n)
	errs := make([]error, n)
	tb.Cleanup(func() { // close every subscriber at once: 100 graceful closes in a row are slow
		var wg sync.WaitGroup
		for _, s := range f.subs {
			if s != nil {
				wg.Go(s.close)
			}
		}
		wg.Wait()
	})
	sem := make(chan struct{}, joinParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f.subs[i], errs[i] = f.b.subscribe(f.pub, i)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("subscriber %d: %v", i, err)
		}
	}
	timeout := time.After(30 * time.Second)
	for i, s := range f.subs {
		select {
		case <-s.keyed:
		case <-timeout:
			keyed := 0
			for _, s := range f.subs {
				if s.joined.Load() != 0 {
					keyed++
				}
			}
			tb.Fatalf("only %d of %d subscribers had a whole keyframe 30 s after joining (subscriber %d has %d video packets, state %s)\n%s",
				keyed, n, i, s.video.unique.Load(), s.pc.ConnectionState(), tail(f.b.proc.StderrText(), 2000))
		}
		f.joins = append(f.joins, time.Duration(s.joined.Load()))
	}
	return f
}

// tail is the end of a log.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// snapshot is every counter at one moment.
type snapshot struct {
	at         time.Time
	server     uint64 // server process utime+stime, clock ticks
	self       uint64 // this process's
	busy       uint64 // the machine's non-idle ticks, all CPUs
	softirq    uint64 // the machine's softirq ticks (loopback delivery runs there)
	sent       uint64
	videoBytes uint64
	recv       []uint64
}

func (f *fanout) snapshot() snapshot {
	f.tb.Helper()
	s := snapshot{sent: f.pub.sent(), videoBytes: f.pub.videoBytes.Load(), recv: make([]uint64, len(f.subs))}
	for i, sub := range f.subs {
		s.recv[i] = sub.received()
	}
	s.at = time.Now()
	var err error
	if s.server, err = procTicks(strconv.Itoa(f.b.proc.Cmd.Process.Pid)); err != nil {
		f.tb.Fatal(err)
	}
	if s.self, err = procTicks("self"); err != nil {
		f.tb.Fatal(err)
	}
	if s.busy, s.softirq, err = machineBusy(); err != nil {
		f.tb.Fatal(err)
	}
	return s
}

// totals add up measurement windows.
type totals struct {
	elapsed                     time.Duration // snapshot to snapshot
	sending                     time.Duration // the publisher sending
	server, self, busy, softirq uint64
	sent, videoBytes, fwd       uint64
	recv                        []uint64 // per subscriber
}

func (t *totals) add(a, b snapshot) {
	t.elapsed += b.at.Sub(a.at)
	t.server += b.server - a.server
	t.self += b.self - a.self
	t.busy += b.busy - a.busy
	t.softirq += b.softirq - a.softirq
	t.sent += b.sent - a.sent
	t.videoBytes += b.videoBytes - a.videoBytes
	if t.recv == nil {
		t.recv = make([]uint64, len(a.recv))
	}
	for i := range a.recv {
		d := b.recv[i] - a.recv[i]
		t.recv[i] += d
		t.fwd += d
	}
}

// drain is how long measure pauses the publisher at each end of a window, so that no packet
// is in flight when the counters are read: a keyframe fanned out to 100 subscribers takes tens
// of milliseconds, and counting it sent but not yet received would show as loss.
const drain = 500 * time.Millisecond

// measure runs one window: the publisher sends for window, between two snapshots taken with
// the pipeline drained. The server's CPU is counted from snapshot to snapshot, so the work of
// the last packets in flight is in.
func (f *fanout) measure(window time.Duration, t *totals) {
	f.pub.paused.Store(true)
	time.Sleep(drain)
	a := f.snapshot()
	f.pub.paused.Store(false)
	time.Sleep(window)
	f.pub.paused.Store(true)
	time.Sleep(drain)
	b := f.snapshot()
	f.pub.paused.Store(false)
	t.add(a, b)
	t.sending += window
}

// result is what a run reports.
type result struct {
	usPerPkt, lossMean, lossMax, joinP50, joinP99, pktsPerSec float64
	serverCPU, selfCPU, softirqCPU, otherCPU, videoKbps       float64
}

func (f *fanout) result(t totals) result {
	clk := float64(clockTicks())
	secs := t.elapsed.Seconds()
	r := result{
		pktsPerSec: float64(t.fwd) / t.sending.Seconds(),
		serverCPU:  100 * float64(t.server) / clk / secs,
		selfCPU:    100 * float64(t.self) / clk / secs,
		softirqCPU: 100 * float64(t.softirq) / clk / secs,
		otherCPU:   100 * (float64(t.busy) - float64(t.server) - float64(t.self) - float64(t.softirq)) / clk / secs,
		videoKbps:  float64(t.videoBytes) * 8 / 1000 / t.sending.Seconds(),
	}
	if t.fwd > 0 {
		r.usPerPkt = float64(t.server) / clk * 1e6 / float64(t.fwd)
	}
	for _, got := range t.recv {
		loss := 100 * (1 - float64(got)/float64(t.sent))
		r.lossMean += loss / float64(len(t.recv))
		r.lossMax = max(r.lossMax, loss)
	}
	joins := slices.Clone(f.joins)
	slices.Sort(joins)
	r.joinP50 = ms(nearestRank(joins, 50))
	r.joinP99 = ms(nearestRank(joins, 99))
	return r
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// nearestRank is the p-th percentile of sorted values.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(i, 0)]
}

// procTicks is utime+stime of a process (fields 14 and 15 of /proc/<pid>/stat), in clock
// ticks, all its threads included.
func procTicks(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	// Field 2, the command, is in parentheses and may hold spaces: fields count from its end.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%s/stat: %q", pid, s)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%s/stat: %q", pid, s)
	}
	return ut + st, nil
}

// machineBusy is the non-idle time of all CPUs from /proc/stat, in clock ticks, and the
// part of it spent in softirqs.
func machineBusy() (busy, softirq uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		switch i {
		case 3, 4: // idle, iowait
		case 6:
			softirq = n
			busy += n
		default:
			busy += n
		}
	}
	return busy, softirq, nil
}

var clockTicks = sync.OnceValue(func() int {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return n
		}
	}
	return 100
})

// benchClip is encoded once per test process: 10 s of 1280x720, looped by the publisher.
var (
	clipOnce sync.Once
	clip720  clip
)

func benchClip(b *testing.B) clip {
	clipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mediabench-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		clip720 = encodeClip(b, dir, "1280x720", 10)
	})
	if clip720.video == nil {
		b.Fatal("no clip")
	}
	return clip720
}

// BenchmarkFanout: one publisher (1.5 Mbit/s H.264 720p30 and Opus, in real time) to N
// subscribers through the real binary over loopback. b.N is the number of measurement windows
// (MEDIABENCH_WINDOW, default 10s); run with -benchtime 1x. Setting MEDIABENCH_PERF to a
// directory records `perf record -g` of the server process during the windows there.
func BenchmarkFanout(b *testing.B) {
	c := benchClip(b)
	window := 10 * time.Second
	if v := os.Getenv("MEDIABENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("MEDIABENCH_WINDOW: %v", err)
		}
		window = d
	}
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			f := startFanout(b, c, n)
			time.Sleep(2 * time.Second) // the joins' PLIs and keyframes pass
			stopPerf := f.perf(b, n)
			b.ResetTimer()
			var t totals
			for range b.N {
				f.measure(window, &t)
			}
			b.StopTimer()
			stopPerf()
			r := f.result(t)
			b.ReportMetric(r.usPerPkt, "server-µs/pkt")
			b.ReportMetric(r.lossMean, "loss-%")
			b.ReportMetric(r.lossMax, "loss-max-%")
			b.ReportMetric(r.joinP50, "join-p50-ms")
			b.ReportMetric(r.joinP99, "join-p99-ms")
			b.ReportMetric(r.pktsPerSec, "pkts/s")
			b.ReportMetric(r.serverCPU, "server-cpu-%")
			b.ReportMetric(r.softirqCPU, "softirq-cpu-%")
			b.ReportMetric(r.otherCPU, "other-cpu-%")
			b.Logf("window %v×%d: sent %d pkts (video %.0f kbit/s), forwarded %d; CPU (of one core) server %.1f%%, bench process %.1f%%, softirq %.1f%%, other processes %.1f%%; publisher saw %d PLIs",
				window, b.N, t.sent, float64(t.videoBytes)*8/1000/t.sending.Seconds(), t.fwd, r.serverCPU, r.selfCPU, r.softirqCPU, r.otherCPU, f.pub.plis.Load())
		})
	}
}

// perf starts `perf record` on the server when MEDIABENCH_PERF names a directory; the
// returned func stops it.
func (f *fanout) perf(b *testing.B, n int) func() {
	dir := os.Getenv("MEDIABENCH_PERF")
	if dir == "" {
		return func() {}
	}
	out := filepath.Join(dir, fmt.Sprintf("perf-subscribers=%d.data", n))
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-o", out, "-p", strconv.Itoa(f.b.proc.Cmd.Process.Pid))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("perf: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // perf attaches
	return func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}
}

// TestFanoutHarness runs the harness small (640x360, 2 subscribers, a 2 s window) and checks
// that media flows: every subscriber gets a whole keyframe, and video and audio keep arriving.
func TestFanoutHarness(t *testing.T) {
	c := encodeClip(t, t.TempDir(), "640x360", 2)
	f := startFanout(t, c, 2)
	var tot totals
	f.measure(2*time.Second, &tot)
	r := f.result(tot)
	t.Logf("sent %d, forwarded %d; server %.1f µs/pkt, loss mean %.2f%% max %.2f%%, join p50 %.0f ms p99 %.0f ms",
		tot.sent, tot.fwd, r.usPerPkt, r.lossMean, r.lossMax, r.joinP50, r.joinP99)
	if tot.sent < 100 {
		t.Fatalf("the publisher sent only %d packets in 2 s", tot.sent)
	}
	for i, s := range f.subs {
		if s.video.unique.Load() == 0 || s.audio.unique.Load() == 0 {
			t.Errorf("subscriber %d: %d video and %d audio packets", i, s.video.unique.Load(), s.audio.unique.Load())
		}
		if got := tot.recv[i]; got < tot.sent*9/10 {
			t.Errorf("subscriber %d received %d of %d packets in the window", i, got, tot.sent)
		}
	}
}
