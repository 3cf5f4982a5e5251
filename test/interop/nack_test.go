package interop_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// lossFactory makes lossy interceptors: each drops a share of the RTP packets a peer receives
// on its media streams, chosen by a generator seeded per kind of stream, so the same packets
// of a stream are lost on every run. Registered first in a peer's registry it sits under
// pion's NACK generator, so the peer never sees the dropped packets and asks for them as for
// any loss on the network. It also counts the NACKs the peer sends.
//
// Repair (RTX) streams are counted but not dropped: an interceptor sits above SRTP, so a
// packet it drops has already been marked in SRTP's replay window, and pion's responder
// resends a packet under the same RTX sequence number every time it is asked; SRTP would
// refuse every later copy as a replay, so a dropped retransmission could never be repaired,
// which is not what a lossy network does (it loses the packet before SRTP sees it).
type lossFactory struct {
	rate float64
	seed uint64

	mu    sync.Mutex // guards made
	made  []*lossy
	nacks atomic.Int64 // NACK feedback packets sent
	asked atomic.Int64 // sequence numbers those NACKs asked for
}

func (f *lossFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	l := &lossy{f: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.made = append(f.made, l)
	return l, nil
}

// lossCount is what a lossy interceptor saw of one kind of stream.
type lossCount struct{ seen, dropped int }

// counts sums what every interceptor saw per MIME type (video/H264, video/rtx, audio/opus).
func (f *lossFactory) counts() map[string]lossCount {
	f.mu.Lock()
	made := slices.Clone(f.made)
	f.mu.Unlock()
	out := map[string]lossCount{}
	for _, l := range made {
		l.mu.Lock()
		for k, c := range l.counts {
			sum := out[k]
			sum.seen += c.seen
			sum.dropped += c.dropped
			out[k] = sum
		}
		l.mu.Unlock()
	}
	return out
}

var repairMime = strings.ToLower(webrtc.MimeTypeRTX)

type lossy struct {
	interceptor.NoOp
	f *lossFactory

	mu     sync.Mutex // guards rngs and counts: every stream's reader runs on its own goroutine
	rngs   map[string]*rand.Rand
	counts map[string]lossCount
}

// drop decides the fate of one packet of a stream and counts it.
func (l *lossy) drop(mime string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts, l.rngs = map[string]lossCount{}, map[string]*rand.Rand{}
	}
	rng := l.rngs[mime]
	if rng == nil {
		rng = rand.New(rand.NewPCG(l.f.seed, hash([]byte(mime))))
		l.rngs[mime] = rng
	}
	c := l.counts[mime]
	c.seen++
	d := mime != repairMime && rng.Float64() < l.f.rate
	if d {
		c.dropped++
	}
	l.counts[mime] = c
	return d
}

// BindRemoteStream reads past the dropped packets: to the interceptors above, and to the
// application, they never arrived.
func (l *lossy) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	mime := strings.ToLower(info.MimeType)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attrs, err := reader.Read(b, a)
			if err != nil || n == 0 || !l.drop(mime) {
				return n, attrs, err
			}
		}
	})
}

// BindRTCPWriter counts the NACKs the peer sends.
func (l *lossy) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				l.f.nacks.Add(1)
				for _, pair := range n.Nacks {
					l.f.asked.Add(int64(len(pair.PacketList())))
				}
			}
		}
		return writer.Write(pkts, a)
	})
}

// sentLog records, above every other interceptor of the publisher, the video packets its
// application writes: what the subscriber should finally have, retransmissions aside.
type sentLog struct {
	interceptor.NoOp

	mu   sync.Mutex // guards pkts
	pkts []sentPacket
}

type sentPacket struct {
	seq  uint16
	hash uint64
}

func (s *sentLog) NewInterceptor(string) (interceptor.Interceptor, error) { return s, nil }

func (s *sentLog) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !strings.EqualFold(info.MimeType, webrtc.MimeTypeH264) {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		s.mu.Lock()
		s.pkts = append(s.pkts, sentPacket{seq: h.SequenceNumber, hash: hash(payload)})
		s.mu.Unlock()
		return writer.Write(h, payload, a)
	})
}

func (s *sentLog) snapshot() []sentPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}

// publish sends frames as H.264 at 30 fps (looping) and Opus silence from pc to the stage,
// until the test ends. Keyframe requests are counted, not answered: the clip's own IDRs
// (every 30 frames) come soon enough.
func publish(t *testing.T, pc *webrtc.PeerConnection, whip, tok string, frames [][]byte) {
	t.Helper()
	p := whiptest.NewPublisher(t, pc, "publisher", tok, frames)
	p.IgnoreKeyframeRequests = true
	p.Location = whiptest.Connect(t, pc, whip, tok).Location
	p.Run()
}

// TestNACKRecoversFivePercentLoss: a viewer loses 5% of the packets the server sends it (the
// loss sits under its NACK generator, as on a lossy network); its NACKs reach the server, whose
// responder retransmits (RTX, as negotiated with a browser-like peer), so the application
// finally has at least 99% of the video packets the publisher sent, byte for byte.
func TestNACKRecoversFivePercentLoss(t *testing.T) {
	const (
		lossRate     = 0.05
		minDropped   = 0.03 // the loss really happened
		minRecovered = 0.99
		measure      = 5 * time.Second
	)
	frames := whiptest.EncodeH264(t, t.TempDir(), whiptest.H264{Size: "1280x720", Seconds: 10, GOP: 30, Bitrate: "2M"})
	s := servertest.Start(t, nil)
	st, toks := newStage(t, s, "publisher", "viewer")

	sent := &sentLog{}
	publish(t, whiptest.NewPeer(t, whiptest.PeerOptions{Last: sent}), st.Endpoints.WHIP, toks[0].Token, frames)

	loss := &lossFactory{rate: lossRate, seed: 20240605}
	sub := whiptest.Subscribe(t, whiptest.NewPeer(t, whiptest.PeerOptions{First: loss}), st.Endpoints.WHIP, toks[0].ParticipantID, toks[1].Token)
	if !waitFor(10*time.Second, func() bool { v, _ := sub.Snapshot(); return len(v.Seqs) > 0 }) {
		t.Fatalf("no video reached the viewer within 10 s (connection %s)", sub.PC.ConnectionState())
	}
	time.Sleep(measure) // the measured span: media flows, with loss, for this long
	cut := len(sent.snapshot())

	// Everything the publisher sent up to the cut should arrive, repaired; it keeps sending, so
	// a loss at the cut is noticed (a gap needs a later packet) and asked for.
	var r recovery
	waitFor(5*time.Second, func() bool {
		r = measureRecovery(t, sub, sent.snapshot()[:cut])
		return r.missing == 0
	})

	counts := loss.counts()
	vid, rtx := counts[strings.ToLower(webrtc.MimeTypeH264)], counts[strings.ToLower(webrtc.MimeTypeRTX)]
	t.Logf("publisher sent %d video packets in the span; the viewer's network dropped %d of %d H.264 packets (%.1f%%) and received %d RTX packets; it sent %d NACKs asking for %d packets",
		r.window, vid.dropped, vid.seen, pct(vid.dropped, vid.seen), rtx.seen, loss.nacks.Load(), loss.asked.Load())
	t.Logf("the viewer's application has %d of %d (%.2f%%), %d altered", r.window-r.missing, r.window, 100-pct(r.missing, r.window), r.altered)

	if vid.seen == 0 || float64(vid.dropped)/float64(vid.seen) < minDropped {
		t.Fatalf("the lossy interceptor dropped %d of %d video packets, want >= %.0f%%: the test did not test loss",
			vid.dropped, vid.seen, minDropped*100)
	}
	if r.altered > 0 {
		t.Fatalf("%d packets arrived with another payload than the publisher sent under that sequence number", r.altered)
	}
	if got := float64(r.window-r.missing) / float64(r.window); got < minRecovered {
		t.Fatalf("the viewer finally has %d of %d video packets (%.2f%%), want >= %.0f%%; %d NACKs sent for %d packets, %d RTX packets arrived; first missing (publisher seq): %v",
			r.window-r.missing, r.window, got*100, minRecovered*100, loss.nacks.Load(), loss.asked.Load(), rtx.seen, r.firstMissing)
	}
}

// recovery compares what a viewer's application received with what the publisher sent.
type recovery struct {
	window       int      // publisher packets from the first the viewer got to the cut
	missing      int      // of those, never received
	altered      int      // received under the expected sequence number with another payload
	firstMissing []uint16 // up to ten missing, in the publisher's numbering
}

// measureRecovery maps the viewer's sequence numbers to the publisher's (the SFU rewrites them
// with one offset per stream; the payloads pass unchanged) and counts, from the first packet the
// viewer received to the end of sent, what is missing.
func measureRecovery(t *testing.T, sub *whiptest.Subscriber, sent []sentPacket) recovery {
	t.Helper()
	video, _ := sub.Snapshot()
	got := make(map[uint16]uint64, len(video.Seqs))
	for i, seq := range video.Seqs { // a later copy of a sequence number replaces an earlier one
		got[seq] = hash(video.Payloads[i])
	}

	// The offset most received packets agree on, matching payloads.
	bySum := map[uint64][]uint16{}
	for _, p := range sent {
		bySum[p.hash] = append(bySum[p.hash], p.seq)
	}
	votes := map[uint16]int{}
	for seq, h := range got {
		for _, ps := range bySum[h] {
			votes[seq-ps]++
		}
	}
	var offset uint16
	best := 0
	for off, n := range votes {
		if n > best {
			offset, best = off, n
		}
	}
	if best == 0 {
		t.Fatalf("none of the %d video packets the viewer received matches one of the %d the publisher sent", len(got), len(sent))
	}

	var r recovery
	started := false
	for _, p := range sent {
		h, ok := got[p.seq+offset]
		if !started {
			if !ok {
				continue // before the viewer's first packet (it starts at a keyframe)
			}
			started = true
		}
		r.window++
		switch {
		case !ok:
			r.missing++
			if len(r.firstMissing) < 10 {
				r.firstMissing = append(r.firstMissing, p.seq)
			}
		case h != p.hash:
			r.altered++
		}
	}
	if r.window == 0 {
		t.Fatal("the viewer received none of the packets sent in the measured span")
	}
	return r
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
