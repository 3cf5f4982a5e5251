package mediabench_test

// This file measures what participant recording costs the server (BenchmarkRecord, and
// TestRecordHarness for CI): docs/BENCHMARKS.md, "Participant recording".

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/whiptest"
)

// stagePublishers is IVS's limit of publishers per stage: a run of more publishers spreads
// them over several stages.
const stagePublishers = 12

// recordSetup is what a run records and for how long.
type recordSetup struct {
	clip           clip
	window         time.Duration // one measurement window
	warmup         time.Duration // from the last recording ACTIVE to the first window
	segmentSeconds int           // hlsConfiguration.targetSegmentDurationSeconds
	thumbSeconds   int           // thumbnailConfiguration.targetIntervalSeconds
}

// recordRun is one server with its stages, running both arms one after the other.
type recordRun struct {
	tb               testing.TB
	b                *bench
	s                recordSetup
	clk              float64
	storeArn, bucket string
}

// recordArm is N publishers on stages of one kind.
type recordArm struct {
	recorded bool
	stages   []benchStage
	sessions []string // each stage's session
	pubs     []*publisher
	stageOf  []int       // the stage of each publisher
	joined   []time.Time // when each publisher's POST was answered
	prefixes []string    // each recording's prefix in the store (recorded arm)
	active   []time.Time // when each recording was seen ACTIVE (recorded arm)
	left     []time.Time // when each publisher's DELETE was answered
	cpu      cpuTotals
	// lagMax is the worst recording lag at the end of a window, in seconds: the time since the
	// recording was ACTIVE less the EXTINF of its stored playlist. The open segment (up to
	// the 6 s target and the wait for a keyframe) and the wait for the first keyframe are in
	// it; more than two segments means the recorder falls behind.
	lagMax float64
	check  recordCheck
}

func (a *recordArm) name() string {
	if a.recorded {
		return "recording"
	}
	return "baseline"
}

// cpuTotals adds up measurement windows.
type cpuTotals struct {
	elapsed, sending                              time.Duration
	server, children, self, busy, softirq, vbytes uint64
	nacked, udpDrops                              uint64
}

// cpuSnap is every CPU counter at one moment.
type cpuSnap struct {
	at                                            time.Time
	server, children, self, busy, softirq, vbytes uint64
	nacked, udpDrops                              uint64
}

func newRecordRun(tb testing.TB, s recordSetup) *recordRun {
	tb.Helper()
	r := &recordRun{tb: tb, b: startBench(tb), s: s, clk: float64(clockTicks()), bucket: "mediabench"}
	var sc struct {
		StorageConfiguration struct{ Arn string } `json:"storageConfiguration"`
	}
	in := map[string]any{"name": "mediabench", "s3": map[string]string{"bucketName": r.bucket}}
	if err := r.b.api.Call(context.Background(), "CreateStorageConfiguration", in, &sc); err != nil {
		tb.Fatalf("CreateStorageConfiguration: %v", err)
	}
	r.storeArn = sc.StorageConfiguration.Arn
	return r
}

// startArm creates the arm's stages and starts n publishers on them, twelve to a stage, and
// waits until every one sends and, on recorded stages, every recording is ACTIVE; then the
// warm-up passes.
func (r *recordRun) startArm(n int, recorded bool) *recordArm {
	r.tb.Helper()
	a := &recordArm{recorded: recorded}
	for i := 0; i < n; i += stagePublishers {
		in := map[string]any{"name": fmt.Sprintf("baseline-%d", i/stagePublishers)}
		if recorded {
			in["name"] = fmt.Sprintf("recorded-%d", i/stagePublishers)
			in["autoParticipantRecordingConfiguration"] = map[string]any{
				"storageConfigurationArn": r.storeArn,
				"mediaTypes":              []string{"AUDIO_VIDEO"},
				"thumbnailConfiguration": map[string]any{"recordingMode": "INTERVAL",
					"targetIntervalSeconds": r.s.thumbSeconds, "storage": []string{"SEQUENTIAL", "LATEST"}},
				"hlsConfiguration": map[string]any{"targetSegmentDurationSeconds": r.s.segmentSeconds},
			}
		}
		a.stages = append(a.stages, r.b.createStage(in))
	}
	for i := range n {
		st := i / stagePublishers
		a.pubs = append(a.pubs, r.b.publishOn(a.stages[st], fmt.Sprintf("pub-%d", i), r.s.clip))
		a.stageOf = append(a.stageOf, st)
		a.joined = append(a.joined, time.Now())
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, p := range a.pubs {
		for p.sentVideo.Load() < 30 || p.pc.ConnectionState().String() != "connected" {
			if time.Now().After(deadline) {
				r.tb.Fatalf("%s arm: publisher %d of %d not connected and sending within 30 s (state %s)", a.name(), i, n, p.pc.ConnectionState())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, st := range a.stages {
		a.sessions = append(a.sessions, r.activeSession(st))
	}
	if recorded {
		a.prefixes = make([]string, n)
		for i, p := range a.pubs {
			var part participantOut
			r.poll(20*time.Second, fmt.Sprintf("publisher %d's recording to be ACTIVE", i), func() bool {
				part = r.participant(a, i)
				return part.RecordingState == "ACTIVE"
			})
			if part.RecordingS3BucketName != r.bucket || part.RecordingS3Prefix == "" {
				r.tb.Fatalf("publisher %s records to %q/%q", p.participant, part.RecordingS3BucketName, part.RecordingS3Prefix)
			}
			a.prefixes[i] = part.RecordingS3Prefix
			a.active = append(a.active, time.Now())
		}
	}
	time.Sleep(r.s.warmup)
	return a
}

// measure runs one window: the publishers send throughout; the server's CPU is counted from
// snapshot to snapshot. At its end the recorded arm notes how far each recording's stored
// playlist is behind the media sent.
func (r *recordRun) measure(a *recordArm) {
	s0 := r.snap(a)
	time.Sleep(r.s.window)
	s1 := r.snap(a)
	t := &a.cpu
	t.elapsed += s1.at.Sub(s0.at)
	t.sending += r.s.window
	t.server += s1.server - s0.server
	t.children += s1.children - s0.children
	t.self += s1.self - s0.self
	t.busy += s1.busy - s0.busy
	t.softirq += s1.softirq - s0.softirq
	t.vbytes += s1.vbytes - s0.vbytes
	t.nacked += s1.nacked - s0.nacked
	t.udpDrops += s1.udpDrops - s0.udpDrops
	if a.recorded {
		for i := range a.pubs {
			pl, err := os.ReadFile(r.playlistPath(a.prefixes[i]))
			stored := 0.0
			if err == nil {
				stored, _ = extinf(string(pl))
			}
			a.lagMax = max(a.lagMax, s1.at.Sub(a.active[i]).Seconds()-stored)
		}
	}
}

func (r *recordRun) snap(a *recordArm) cpuSnap {
	r.tb.Helper()
	var s cpuSnap
	for _, p := range a.pubs {
		s.vbytes += p.videoBytes.Load()
		s.nacked += p.nacked.Load()
	}
	s.at = time.Now()
	var err error
	if s.server, s.children, err = procTimes(strconv.Itoa(r.b.proc.Cmd.Process.Pid)); err != nil {
		r.tb.Fatal(err)
	}
	if s.self, err = procTicks("self"); err != nil {
		r.tb.Fatal(err)
	}
	if s.busy, s.softirq, err = machineBusy(); err != nil {
		r.tb.Fatal(err)
	}
	if s.udpDrops, err = udpRcvbufErrors(); err != nil {
		r.tb.Fatal(err)
	}
	return s
}

// udpRcvbufErrors is the Udp RcvbufErrors counter of /proc/net/snmp: datagrams the kernel
// dropped because a socket's receive buffer was full. It counts every process of the
// network namespace (in a run, mostly the server's one UDP socket).
func udpRcvbufErrors() (uint64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				return strconv.ParseUint(f[i], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no Udp RcvbufErrors in /proc/net/snmp")
}

// leave makes every publisher leave as a client does: DELETE on its WHIP session, then close
// (all at once: a graceful close takes a while).
func (r *recordRun) leave(a *recordArm) {
	r.tb.Helper()
	for i, p := range a.pubs {
		resp, err := whiptest.Request("DELETE", p.session, p.token, "", "")
		a.left = append(a.left, time.Now())
		if err != nil || resp.Status/100 != 2 {
			r.tb.Errorf("publisher %d: DELETE %s: %v %d %s", i, p.session, err, resp.Status, resp.Body)
		}
	}
	var wg sync.WaitGroup
	for _, p := range a.pubs {
		wg.Go(p.close)
	}
	wg.Wait()
}

// recordCheck is what the recorded arm left in the store and the log.
type recordCheck struct {
	stopAfter                           time.Duration // from leaving to the last recording STOPPED
	minSeconds, maxSeconds              float64       // total EXTINF of the recordings
	segments, thumbs                    int
	ringDrops, brokenFrames, thumbDrops uint64
}

// verify waits until every recording of a is STOPPED and checks it in the local store: an
// ended playlist whose segments are all there and whose EXTINF add up to the time the
// publisher published (so at least the windows), and its thumbnails. It reads the recorder's
// counts (ring drops, broken frames, dropped thumbnails) from the server's log.
func (r *recordRun) verify(a *recordArm, windows int) {
	r.tb.Helper()
	c := &a.check
	c.minSeconds = math.Inf(1)
	for i, p := range a.pubs {
		r.poll(60*time.Second, fmt.Sprintf("publisher %d's recording to be STOPPED", i), func() bool {
			return r.participant(a, i).RecordingState == "STOPPED"
		})
		c.stopAfter = time.Since(a.left[len(a.left)-1])
		dir := filepath.Join(r.b.proc.DataDir, "recordings", r.bucket, filepath.FromSlash(a.prefixes[i]))
		pl, err := os.ReadFile(filepath.Join(dir, "media", "hls", "high", "playlist.m3u8"))
		if err != nil {
			r.tb.Fatalf("publisher %s: no playlist in the local store: %v", p.participant, err)
		}
		if !strings.HasSuffix(string(pl), "#EXT-X-ENDLIST\n") {
			r.tb.Fatalf("publisher %s: the playlist is not ended:\n%s", p.participant, pl)
		}
		secs, names := extinf(string(pl))
		if len(names) == 0 {
			r.tb.Fatalf("publisher %s: the playlist lists no segment:\n%s", p.participant, pl)
		}
		for _, name := range names {
			if fi, err := os.Stat(filepath.Join(dir, "media", "hls", "high", name)); err != nil || fi.Size() == 0 {
				r.tb.Fatalf("publisher %s: segment %s is listed but not stored (%v)", p.participant, name, err)
			}
		}
		// The recording runs from its first keyframe to the DELETE. That keyframe comes after
		// the recording started (ACTIVE) by at most a GOP (2 s) or a keyframe request, and the
		// publish began before it (the connection's setup is not recorded).
		published, recorded := a.left[i].Sub(a.joined[i]).Seconds(), a.left[i].Sub(a.active[i]).Seconds()
		if secs < float64(windows)*r.s.window.Seconds() || secs < recorded-2.5 || secs > published+1 {
			r.tb.Errorf("publisher %s: the recording holds %.2f s of segments for %.2f s published, %.2f s since it was ACTIVE (windows %d × %v)",
				p.participant, secs, published, recorded, windows, r.s.window)
		}
		thumbs, _ := filepath.Glob(filepath.Join(dir, "media", "thumbnails", "high", "*.jpg"))
		if want := secs / float64(r.s.thumbSeconds); float64(len(thumbs)) < want-1 || float64(len(thumbs)) > want+2 {
			r.tb.Errorf("publisher %s: %d thumbnails for %.1f s at one per %d s", p.participant, len(thumbs), secs, r.s.thumbSeconds)
		}
		if _, err := os.Stat(filepath.Join(dir, "media", "latest_thumbnail", "high", "thumb.jpg")); err != nil {
			r.tb.Errorf("publisher %s: no latest thumbnail: %v", p.participant, err)
		}
		c.minSeconds, c.maxSeconds = min(c.minSeconds, secs), max(c.maxSeconds, secs)
		c.segments += len(names)
		c.thumbs += len(thumbs)
	}
	ended := 0
	for _, p := range a.pubs {
		for _, line := range pieceEndedLines(r.b.proc.StderrText(), p.participant) {
			ended++
			c.ringDrops += sumField(line, "ring_drops")
			c.brokenFrames += sumField(line, "broken_frames")
			c.thumbDrops += sumField(line, "thumbnail_drops")
		}
	}
	if ended != len(a.pubs) {
		r.tb.Errorf("%d \"recording piece ended\" lines in the server's log for %d publishers", ended, len(a.pubs))
	}
}

type participantOut struct {
	RecordingState        string `json:"recordingState"`
	RecordingS3BucketName string `json:"recordingS3BucketName"`
	RecordingS3Prefix     string `json:"recordingS3Prefix"`
}

func (r *recordRun) participant(a *recordArm, i int) participantOut {
	r.tb.Helper()
	var out struct{ Participant participantOut }
	in := map[string]string{"stageArn": a.stages[a.stageOf[i]].arn, "sessionId": a.sessions[a.stageOf[i]], "participantId": a.pubs[i].participant}
	if err := r.b.api.Call(context.Background(), "GetParticipant", in, &out); err != nil {
		r.tb.Fatalf("GetParticipant: %v", err)
	}
	return out.Participant
}

func (r *recordRun) activeSession(st benchStage) string {
	r.tb.Helper()
	var out struct {
		Stage struct {
			ActiveSessionID string `json:"activeSessionId"`
		} `json:"stage"`
	}
	r.poll(10*time.Second, "the stage's session", func() bool {
		if err := r.b.api.Call(context.Background(), "GetStage", map[string]string{"arn": st.arn}, &out); err != nil {
			r.tb.Fatalf("GetStage: %v", err)
		}
		return out.Stage.ActiveSessionID != ""
	})
	return out.Stage.ActiveSessionID
}

func (r *recordRun) poll(d time.Duration, what string, cond func() bool) {
	r.tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			r.tb.Fatalf("timed out after %v waiting for %s\n%s", d, what, tail(r.b.proc.StderrText(), 3000))
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

func (r *recordRun) playlistPath(prefix string) string {
	return filepath.Join(r.b.proc.DataDir, "recordings", r.bucket, filepath.FromSlash(prefix), "media", "hls", "high", "playlist.m3u8")
}

var (
	extinfRe  = regexp.MustCompile(`(?m)^#EXTINF:([0-9.]+),\n(\S+)$`)
	logNumRe  = map[string]*regexp.Regexp{}
	logFields = []string{"ring_drops", "broken_frames", "thumbnail_drops"}
)

func init() {
	for _, f := range logFields {
		logNumRe[f] = regexp.MustCompile(`\b` + f + `=(\d+)`)
	}
}

// extinf adds up a media playlist's EXTINF and lists its segments.
func extinf(pl string) (seconds float64, names []string) {
	for _, m := range extinfRe.FindAllStringSubmatch(pl, -1) {
		d, _ := strconv.ParseFloat(m[1], 64)
		seconds += d
		names = append(names, m[2])
	}
	return seconds, names
}

// pieceEndedLines are the server's "recording piece ended" log lines of a participant.
func pieceEndedLines(log, participant string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, `msg="recording piece ended"`) && (strings.Contains(l, " participant_id="+participant+" ") || strings.HasSuffix(l, " participant_id="+participant)) {
			out = append(out, l)
		}
	}
	return out
}

// sumField adds up every key=N of a log line (the piece's line repeats the track counts).
func sumField(line, key string) uint64 {
	var n uint64
	for _, m := range logNumRe[key].FindAllStringSubmatch(line, -1) {
		v, _ := strconv.ParseUint(m[1], 10, 64)
		n += v
	}
	return n
}

// procTimes is a process's own CPU, utime+stime (fields 14 and 15 of /proc/<pid>/stat), and
// that of its children it has waited for, cutime+cstime (fields 16 and 17), in clock ticks.
// The server runs ffmpeg for each H.264 thumbnail and waits for it, so the thumbnails' CPU
// is in the second.
func procTimes(pid string) (own, children uint64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short /proc/%s/stat: %q", pid, s)
	}
	var v [4]uint64
	for i := range v {
		if v[i], err = strconv.ParseUint(f[11+i], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("parse /proc/%s/stat: %q", pid, s)
		}
	}
	return v[0] + v[1], v[2] + v[3], nil
}

// armResult is an arm's CPU as percent of one core.
type armResult struct {
	server, ffmpeg, self, softirq, other, videoKbps float64
	nackedPerSec                                    float64 // packets NACKed by the server, all publishers
	udpDropsPerSec                                  float64 // datagrams dropped at full receive buffers
}

func (r *recordRun) result(a *recordArm) armResult {
	t, secs := a.cpu, a.cpu.elapsed.Seconds()
	pct := func(ticks float64) float64 { return 100 * ticks / r.clk / secs }
	return armResult{
		server:         pct(float64(t.server + t.children)),
		ffmpeg:         pct(float64(t.children)),
		self:           pct(float64(t.self)),
		softirq:        pct(float64(t.softirq)),
		other:          pct(float64(t.busy) - float64(t.server) - float64(t.children) - float64(t.self) - float64(t.softirq)),
		videoKbps:      float64(t.vbytes) * 8 / 1000 / t.sending.Seconds() / float64(len(a.pubs)),
		nackedPerSec:   float64(t.nacked) / t.sending.Seconds(),
		udpDropsPerSec: float64(t.udpDrops) / t.sending.Seconds(),
	}
}

// runArms runs the baseline arm and then the recorded arm, each with n publishers for
// windows windows, and checks the recordings.
func (r *recordRun) runArms(n, windows int, timer func(on bool)) (base, rec *recordArm) {
	r.tb.Helper()
	base = r.startArm(n, false)
	stop := r.perf(fmt.Sprintf("baseline-%d", n))
	timer(true)
	for range windows {
		r.measure(base)
	}
	timer(false)
	stop()
	r.leave(base)
	time.Sleep(time.Second) // the server closes the baseline's connections

	rec = r.startArm(n, true)
	stop = r.perf(fmt.Sprintf("recording-%d", n))
	timer(true)
	for range windows {
		r.measure(rec)
	}
	timer(false)
	stop()
	r.leave(rec)
	r.verify(rec, windows)
	return base, rec
}

func (r *recordRun) logArms(n int, base, rec *recordArm) (br, rr armResult) {
	br, rr = r.result(base), r.result(rec)
	c := rec.check
	for _, x := range []struct {
		name string
		a    *recordArm
		res  armResult
	}{{"baseline", base, br}, {"recording", rec, rr}} {
		r.tb.Logf("%s: %d publishers, %v measured, video %.0f kbit/s each, %.1f packets/s NACKed, %.1f datagrams/s dropped at full UDP buffers; CPU (of one core) server %.1f%% (ffmpeg children %.1f%%), bench process %.1f%%, softirq %.1f%%, other processes %.1f%%",
			x.name, n, x.a.cpu.elapsed.Round(time.Millisecond), x.res.videoKbps, x.res.nackedPerSec, x.res.udpDropsPerSec, x.res.server, x.res.ffmpeg, x.res.self, x.res.softirq, x.res.other)
	}
	r.tb.Logf("recordings: %.2f–%.2f s each, %d segments, %d thumbnails; all STOPPED %.1f s after leaving; lag at window end ≤ %.1f s; ring drops %d, broken frames %d, thumbnail drops %d",
		c.minSeconds, c.maxSeconds, c.segments, c.thumbs, c.stopAfter.Seconds(), rec.lagMax, c.ringDrops, c.brokenFrames, c.thumbDrops)
	return br, rr
}

// perf starts `perf record -g` on the server when MEDIABENCH_PERF names a directory; the
// returned func stops it. The thumbnails' ffmpeg processes are in it: the events are
// inherited by the children the server forks.
func (r *recordRun) perf(name string) func() {
	dir := os.Getenv("MEDIABENCH_PERF")
	if dir == "" {
		return func() {}
	}
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-o", filepath.Join(dir, "perf-"+name+".data"), "-p", strconv.Itoa(r.b.proc.Cmd.Process.Pid))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		r.tb.Fatalf("perf: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // perf attaches
	return func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}
}

// recordSizes are the publisher counts BenchmarkRecord runs: MEDIABENCH_RECORD_N, a comma
// list, or the default.
func recordSizes(b *testing.B) []int {
	v := os.Getenv("MEDIABENCH_RECORD_N")
	if v == "" {
		return []int{1, 4, 8, 12, 24}
	}
	var ns []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("MEDIABENCH_RECORD_N: %q", v)
		}
		ns = append(ns, n)
	}
	return ns
}

// BenchmarkRecord: N publishers (1.5 Mbit/s H.264 720p30 and Opus, in real time), first on
// stages that do not record, then on stages that record each of them to the local store
// (AUDIO_VIDEO, 6 s segments, SEQUENTIAL and LATEST thumbnails every 10 s), in one server
// process (the real binary). b.N is the number of measurement windows per arm
// (MEDIABENCH_RECORD_WINDOW, default 20s); run with -benchtime 1x. The server's CPU includes
// its waited-for children, the ffmpeg runs that make the thumbnails. After the windows the
// publishers leave, and the benchmark fails unless every recording reaches STOPPED with the
// segments and thumbnails of the time it published in the store. MEDIABENCH_RECORD_N sets the
// publisher counts (default 1,4,8,12,24); MEDIABENCH_PERF, a directory, records `perf record
// -g` of the server during each arm's windows there.
func BenchmarkRecord(b *testing.B) {
	c := benchClip(b)
	window := 20 * time.Second
	if v := os.Getenv("MEDIABENCH_RECORD_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("MEDIABENCH_RECORD_WINDOW: %v", err)
		}
		window = d
	}
	for _, n := range recordSizes(b) {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) {
			r := newRecordRun(b, recordSetup{clip: c, window: window, warmup: 3 * time.Second, segmentSeconds: 6, thumbSeconds: 10})
			b.StopTimer()
			base, rec := r.runArms(n, b.N, func(on bool) {
				if on {
					b.StartTimer()
				} else {
					b.StopTimer()
				}
			})
			br, rr := r.logArms(n, base, rec)
			b.ReportMetric((rr.server-br.server)/float64(n), "record-cpu-%/participant")
			b.ReportMetric(br.server, "base-cpu-%")
			b.ReportMetric(rr.server, "rec-cpu-%")
			b.ReportMetric(rr.ffmpeg, "ffmpeg-cpu-%")
			b.ReportMetric(float64(rec.check.ringDrops), "ring-drops")
			b.ReportMetric(float64(rec.check.thumbDrops), "thumb-drops")
			b.ReportMetric(float64(rec.check.brokenFrames), "broken-frames")
			b.ReportMetric((rr.server-rr.ffmpeg-br.server)/float64(n), "record-go-cpu-%/participant")
			b.ReportMetric(rr.videoKbps, "rec-kbps/publisher")
			b.ReportMetric(br.nackedPerSec, "base-nacked/s")
			b.ReportMetric(rr.nackedPerSec, "rec-nacked/s")
			b.ReportMetric(br.udpDropsPerSec, "base-udp-drops/s")
			b.ReportMetric(rr.udpDropsPerSec, "rec-udp-drops/s")
			b.ReportMetric(rec.lagMax, "lag-max-s")
			b.ReportMetric(br.other, "base-other-cpu-%")
			b.ReportMetric(rr.other, "rec-other-cpu-%")
		})
	}
}

// TestRecordHarness runs BenchmarkRecord's code small (640x360, 1 publisher, 2 s segments
// and thumbnails, a 3 s window in each arm) and checks that the recording was made and is
// whole.
func TestRecordHarness(t *testing.T) {
	c := encodeClip(t, t.TempDir(), "640x360", 2)
	r := newRecordRun(t, recordSetup{clip: c, window: 3 * time.Second, warmup: 500 * time.Millisecond, segmentSeconds: 2, thumbSeconds: 2})
	base, rec := r.runArms(1, 1, func(bool) {})
	br, rr := r.logArms(1, base, rec)
	if rec.check.segments < 2 || rec.check.thumbs < 2 {
		t.Errorf("the recording has %d segments and %d thumbnails", rec.check.segments, rec.check.thumbs)
	}
	if rec.check.ringDrops != 0 {
		t.Errorf("the recorder dropped %d packets of one publisher", rec.check.ringDrops)
	}
	if br.videoKbps < 100 || rr.videoKbps < 100 {
		t.Errorf("the publisher sent %.0f and %.0f kbit/s of video", br.videoKbps, rr.videoKbps)
	}
}
