package rtc

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// runQueue starts q's writer goroutine; it is closed and waited for at cleanup.
func runQueue(t testing.TB, q *sendQueue) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(q.run) // ends at close
	t.Cleanup(func() {
		q.close()
		wg.Wait()
	})
}

// TestForwardZeroAllocsQueued: forwarding to downtracks on a send queue (ICE-TCP
// subscribers) allocates nothing either, the writer goroutine included.
func TestForwardZeroAllocsQueued(t *testing.T) {
	f := newForwarding(t, 8)
	q := newSendQueue()
	for _, d := range *f.up.subs.Load() {
		d.queue.Store(q)
	}
	var wg sync.WaitGroup
	wg.Go(q.run) // ends at close
	allocs := testing.AllocsPerRun(1000, f.step)
	eventually(t, 5*time.Second, "the queue to drain", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.n == 0
	})
	q.close()
	wg.Wait()
	if allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	// AllocsPerRun steps 1001 times, after the keyframe newForwarding wrote directly.
	// Whatever the writer did not take overflowed, and video then waited for a keyframe.
	for i, d := range *f.up.subs.Load() {
		w := f.writers[i]
		total := w.packets + d.overflowed.Load() + d.dropped.Load()
		if w.packets < 3 || total != 1002 || w.ssrc != uint32(1000+i) || w.pt != 126 {
			t.Errorf("downtrack %d: %d packets written, %d overflowed, %d waited (total %d, want 1002), SSRC %d, PT %d",
				i, w.packets, d.overflowed.Load(), d.dropped.Load(), total, w.ssrc, w.pt)
		}
	}
}

// BenchmarkForwardQueued is BenchmarkForward for subscribers on ICE-TCP: the copy into the
// send queue, and its writer goroutine. The writer falls behind and video then waits for a
// keyframe the stream never has, so it counts allocations, not time.
func BenchmarkForwardQueued(b *testing.B) {
	f := newForwarding(b, 10)
	q := newSendQueue()
	for _, d := range *f.up.subs.Load() {
		d.queue.Store(q)
	}
	runQueue(b, q)
	b.ReportAllocs()
	for b.Loop() {
		f.step()
	}
}

// gateWriter is a TrackLocalWriter that blocks every write until gate closes, as a TCP write
// to a client that stopped reading does, and records what was written.
type gateWriter struct {
	gate chan struct{}
	mu   sync.Mutex // guards seqs and keys
	seqs []uint16
	keys []bool
}

func (w *gateWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	<-w.gate
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.keys = append(w.keys, isH264Keyframe(payload))
	return h.MarshalSize() + len(payload), nil
}

func (w *gateWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *gateWriter) written() ([]uint16, []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint16(nil), w.seqs...), append([]bool(nil), w.keys...)
}

// TestQueueOverflowWaitsForKeyframe: while the subscriber's writer is blocked, the
// forwarding goroutine never waits: the queue takes queueSlots packets, the next is dropped
// and counted, and video forwards nothing more until a keyframe, which it asks for. The
// subscriber sees the hole in its sequence numbers, then the keyframe.
func TestQueueOverflowWaitsForKeyframe(t *testing.T) {
	up := newUpTrack(upTrackParams{mid: "0", kind: webrtc.RTPCodecTypeVideo, codec: testH264, streamID: "alice", log: slog.New(slog.DiscardHandler)})
	t.Cleanup(up.close)
	w := &gateWriter{gate: make(chan struct{})}
	d := newDownTrack(up)
	if _, err := d.Bind(trackContext{codecs: []webrtc.RTPCodecParameters{testH264}, ssrc: 1000, w: w}); err != nil {
		t.Fatal(err)
	}
	d.active.Store(true)
	q := newSendQueue()
	d.queue.Store(q)
	runQueue(t, q)

	key := []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce} // STAP-A: SPS, PPS
	middle := []byte{0x7c, 0x05, 0xaa, 0xbb}                            // FU-A middle
	now := int64(1e9)
	send := func(seq uint16, payload []byte) {
		up.pkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 0xabc}, Payload: payload}
		now += 1e6
		up.forward(now)
	}
	send(0, key)
	for seq := uint16(1); seq < 300; seq++ { // the writer is blocked: this returns at once
		send(seq, middle)
	}
	// Packet queueSlots overflowed; the rest waited for a keyframe.
	if o, w := d.overflowed.Load(), d.dropped.Load(); o != 1 || w != 300-queueSlots-1 {
		t.Errorf("%d packets overflowed and %d waited for a keyframe, want 1 and %d", o, w, 300-queueSlots-1)
	}
	if d.keyAsk == 0 {
		t.Errorf("the overflow asked for no keyframe")
	}
	close(w.gate) // the client reads again
	eventually(t, 5*time.Second, "the queue to drain", func() bool {
		seqs, _ := w.written()
		return len(seqs) == queueSlots
	})
	send(300, middle) // still waiting for a keyframe: dropped
	send(301, key)
	send(302, middle)
	eventually(t, 5*time.Second, "the keyframe to be written", func() bool {
		seqs, _ := w.written()
		return len(seqs) == queueSlots+2
	})
	seqs, keys := w.written()
	for i := 1; i < queueSlots; i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, seqs[i], seqs[i-1])
		}
	}
	if gap := seqs[queueSlots] - seqs[queueSlots-1]; gap != 301-(queueSlots-1) || !keys[queueSlots] {
		t.Errorf("after the overflow: sequence gap %d (want %d, the dropped packets), keyframe %v", gap, 301-(queueSlots-1), keys[queueSlots])
	}
	if seqs[queueSlots+1] != seqs[queueSlots]+1 {
		t.Errorf("the packet after the keyframe: sequence number %d after %d", seqs[queueSlots+1], seqs[queueSlots])
	}
}

// stallProxy is a TCP proxy on 127.0.0.1 in front of the server's ICE-TCP port. Once
// stalled it stops reading what the server sends, as a client whose network or reader has
// stopped; its socket toward the server has a small receive buffer, so the server's writes
// start blocking soon.
type stallProxy struct {
	ln     net.Listener
	target string
	stall  chan struct{} // closed by stallReads
	done   chan struct{} // closed by close
	mu     sync.Mutex    // guards conns
	conns  []net.Conn
	wg     sync.WaitGroup // the accept loop and the copy loops
}

func newStallProxy(t testing.TB, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, stall: make(chan struct{}), done: make(chan struct{})}
	p.wg.Go(p.accept) // ends when close closes the listener
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *stallProxy) stallReads() { close(p.stall) }

func (p *stallProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}
		server, err := d.Dial("tcp4", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(server, client) }) // ends when close closes the conns
		p.wg.Go(func() { p.fromServer(server, client) })   // ends at close
	}
}

// fromServer copies the server's bytes to the client until stalled, then reads no more.
func (p *stallProxy) fromServer(server, client net.Conn) {
	buf := make([]byte, 2048)
	for {
		select {
		case <-p.stall:
			<-p.done
			return
		default:
		}
		n, err := server.Read(buf)
		if err != nil {
			return
		}
		if _, err := client.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *stallProxy) close() {
	close(p.done)
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// viaProxy keeps only the answer's loopback ICE-TCP candidates, pointed at the proxy.
func viaProxy(answer string, port int) string {
	var out []string
	for _, l := range strings.SplitAfter(answer, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
			continue
		}
		f := strings.Fields(strings.TrimSpace(l))
		if len(f) > 5 && strings.EqualFold(f[2], "tcp") && f[4] == "127.0.0.1" {
			f[5] = strconv.Itoa(port)
			out = append(out, strings.Join(f, " ")+"\r\n")
		}
	}
	return strings.Join(out, "")
}

// subscriberSession finds the live subscription of a participant.
func (h *harness) subscriberSession(participantID string) *session {
	h.sfu.mu.Lock()
	defer h.sfu.mu.Unlock()
	for _, x := range h.sfu.sessions {
		if x.sub != nil && x.participantID == participantID {
			return x
		}
	}
	return nil
}

// overflows sums the packets a subscription's downtracks dropped on a full send queue, and
// reports whether it writes through one.
func (x *session) overflows() (n uint64, queued bool) {
	x.sub.mu.Lock()
	defer x.sub.mu.Unlock()
	for _, d := range x.sub.downs {
		n += d.overflowed.Load()
	}
	return n, x.sub.queue != nil
}

// TestStalledTCPSubscriber: a subscriber on ICE-TCP whose client stops reading (a proxy
// that no longer reads from the server) does not hold up the publisher's tracks: another
// subscriber, on UDP, keeps receiving every packet, in order and without a gap, while the
// stalled one's packets are dropped and counted and a keyframe is asked for. When the
// publisher then leaves, its end, which ends both subscriptions, does not wait on the
// stalled client for longer than the TCP write timeout.
func TestStalledTCPSubscriber(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TCPWriteTimeout = 4 * time.Second })
	// 2 Mbit/s: the server's bounded TCP send buffer fills within a second of the stall.
	pub := startPublisher(t, h, "alice", h264FramesAt(t, 3, 30, "640x480", "2M"))
	waitConnected(t, pub.pc)
	bob := startSubscriber(t, h, "bob", "alice")

	proxy := newStallProxy(t, "127.0.0.1:"+strconv.Itoa(h.sfu.UDPPort()))
	carol := newTestSubscriber(t, h, newClientPC(t, webrtc.NetworkTypeTCP4), "carol")
	offer := gatheredOffer(t, carol.pc)
	resp := h.whip.post("/whip/"+h.stageID+"/subscribe/alice", carol.token, offer)
	if resp.status != http.StatusCreated {
		t.Fatalf("carol's subscribe: %d %s", resp.status, resp.body)
	}
	answer := viaProxy(resp.body, proxy.port())
	if !strings.Contains(answer, "a=candidate:") {
		t.Fatalf("the answer has no loopback ICE-TCP candidate:\n%s", resp.body)
	}
	if err := carol.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, carol.pc)
	waitConnected(t, bob.pc)
	for name, s := range map[string]*testSubscriber{"bob": bob, "carol": carol} {
		eventually(t, 10*time.Second, name+"'s first media", func() bool {
			v, a := s.counts()
			return v >= 30 && a >= 25
		})
	}
	carolSess := h.subscriberSession("carol")
	if _, queued := carolSess.overflows(); !queued {
		t.Fatalf("carol's subscription is on ICE-TCP but writes without a send queue")
	}
	if _, queued := h.subscriberSession("bob").overflows(); queued {
		t.Errorf("bob's subscription is on UDP but writes through a send queue")
	}

	proxy.stallReads()
	eventually(t, 30*time.Second, "carol's send queue to overflow", func() bool {
		n, _ := carolSess.overflows()
		return n > 0
	})
	overflowed, _ := carolSess.overflows()
	plis := pub.plis.Load()
	video0, audio0 := bob.counts()
	// With the fan-out waiting on carol, bob would get nothing more from here on.
	eventually(t, 15*time.Second, "bob's media while carol is stalled", func() bool {
		v, a := bob.counts()
		n, _ := carolSess.overflows()
		return v >= video0+150 && a >= audio0+100 && n > overflowed
	})
	if pub.plis.Load() <= plis {
		t.Errorf("the overflow of carol's video asked the publisher for no keyframe")
	}
	video, audio := bob.snapshot()
	for kind, seqs := range map[string][]uint16{"video": video.seqs, "audio": audio.seqs} {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				t.Errorf("bob's %s: sequence number %d after %d (packet %d of %d)", kind, seqs[i], seqs[i-1], i, len(seqs))
				break
			}
		}
	}

	// The publisher leaves while carol is still stalled: DTLS's close_notify to carol waits on
	// the stalled conn until the write timeout drops it.
	deleted := make(chan whipResp, 1)
	go func() { deleted <- h.whip.del(pub.location, pub.token) }() // ends when the DELETE is answered
	select {
	case r := <-deleted:
		if r.status != http.StatusOK {
			t.Errorf("the publisher's DELETE: %d %s", r.status, r.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the publisher's DELETE got no answer within 20 s: its end waits on the stalled subscriber")
	}
	eventually(t, 10*time.Second, "both subscriptions to end", func() bool {
		return h.subscriberSession("carol") == nil && h.subscriberSession("bob") == nil
	})
	if _, err := h.sfu.session(carolSess.id); !errors.Is(err, errSessionNotFound) {
		t.Errorf("carol's session is still registered: %v", err)
	}
}

// TestStallGuard: a write the peer never takes fails after the timeout and closes the conn,
// whose framing a partial write would have broken.
func TestStallGuard(t *testing.T) {
	server, client := net.Pipe() // synchronous: a write waits for a read
	defer client.Close()
	g := &stallGuard{Conn: server, guard: tcpGuard{timeout: 50 * time.Millisecond, log: slog.New(slog.DiscardHandler)}}
	if _, err := g.Write([]byte("stalled")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that does not read: %v, want a deadline error", err)
	}
	if _, err := g.Write([]byte("again")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("write after the stall: %v, want the conn closed", err)
	}
}
