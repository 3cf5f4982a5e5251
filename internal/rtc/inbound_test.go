package rtc

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// TestInRing: packets come out in order across the ring's wrap, a full ring drops and counts,
// and close wakes a consumer waiting on an empty ring.
func TestInRing(t *testing.T) {
	r := newInRing()
	got := make(chan byte, 3*inSlots)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			s := r.next()
			if s == nil {
				return
			}
			got <- s.buf[0]
			r.release()
		}
	}()
	for i := range 3 * inSlots {
		r.push([]byte{byte(i)}, false)
		if i%7 == 0 {
			time.Sleep(time.Millisecond) // let the consumer run dry and sleep
		}
	}
	for i := range 3 * inSlots {
		select {
		case b := <-got:
			if b != byte(i) {
				t.Fatalf("packet %d came out as %d", i, b)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("packet %d never came out", i)
		}
	}
	r.close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not wake the consumer")
	}

	full := newInRing()
	for i := range inSlots + 5 {
		full.push([]byte{byte(i)}, false)
	}
	if d := full.dropped.Load(); d != 5 {
		t.Errorf("a full ring dropped %d packets, want 5", d)
	}
	full.close()
}

// TestDirectReceiveZeroAllocs: taking a packet from the ring, decrypting it, showing it to the
// feedback interceptors and fanning it out allocates nothing.
func TestDirectReceiveZeroAllocs(t *testing.T) {
	f := newForwarding(t, 8)
	key, salt := make([]byte, 16), make([]byte, 12)
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.SRTPReplayProtection(srtpReplayWindow))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := newFeedbackRegistry(logging.NewDefaultLoggerFactory())
	if err != nil {
		t.Fatal(err)
	}
	fb, err := newFeedback(reg, func([]rtcp.Packet) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer fb.close()
	f.up.fb = fb.bind(&interceptor.StreamInfo{
		SSRC: 0xabc, ClockRate: 90000, MimeType: webrtc.MimeTypeH264,
		RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}},
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 3}},
	}, 0xabd)
	var slot inSlot
	var hdr rtp.Header
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Timestamp: 3000, SSRC: 0xabc}, Payload: f.raw[12:]}
	var tcc [2]byte // the transport-wide sequence number
	plain := make([]byte, receiveBufSize)
	step := func() {
		pkt.SequenceNumber = f.seq
		tcc[0], tcc[1] = byte(f.seq>>8), byte(f.seq)
		if err := pkt.SetExtension(3, tcc[:]); err != nil {
			panic(err)
		}
		f.seq++
		n, err := pkt.MarshalTo(plain)
		if err != nil {
			panic(err)
		}
		out, err := enc.EncryptRTP(slot.buf[:0], plain[:n], &hdr)
		if err != nil {
			panic(err)
		}
		slot.n = len(out)
		f.up.receive(&slot, dec, 0)
	}
	for range 100 { // the recorders and logs reach their steady size
		step()
	}
	if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
		t.Errorf("%v allocations per packet received directly, want 0", allocs)
	}
	if f.up.undecryptable != 0 || f.writers[0].packets < 1100 {
		t.Errorf("undecryptable %d, forwarded %d", f.up.undecryptable, f.writers[0].packets)
	}
}

// TestPublisherLossRepaired: 5% of the video a UDP publisher sends is lost before it reaches
// the server. The server reads the publisher's streams directly from the socket, asks for
// what is missing (NACK), and the publisher's retransmissions (RTX) bring at least 99% of the
// video to a subscriber.
func TestPublisherLossRepaired(t *testing.T) {
	h := newHarness(t)
	loss := &sendLoss{rate: 0.05}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pub := startPublisherWith(t, h, newClientPCFirst(t, me, loss), "alice", h264Baseline, h264FramesAt(t, 3, 30, "640x480", "1M"))
	sub := startSubscriber(t, h, "bob", "alice")
	eventually(t, 10*time.Second, "video at the subscriber", func() bool {
		v, _ := sub.counts()
		return v > 0
	})
	sent0, got0 := loss.sent(), uniqueVideo(sub)
	time.Sleep(4 * time.Second)
	close(pub.stop) // the publisher stops sending; repairs in flight arrive
	time.Sleep(time.Second)
	sent, got := loss.sent()-sent0, uniqueVideo(sub)-got0
	if sent < 150 {
		t.Fatalf("the publisher sent only %d video packets in 4 s", sent)
	}
	if ratio := float64(got) / float64(sent); ratio < 0.99 {
		t.Errorf("the subscriber got %d of %d video packets (%.1f%%), want at least 99%%", got, sent, 100*ratio)
	}
	if loss.dropped() == 0 || loss.nacks() == 0 {
		t.Errorf("%d packets dropped, %d NACKs reached the publisher", loss.dropped(), loss.nacks())
	}
	for _, u := range h.sfu.publisher(testAccount+h.stageID, "alice").upTracks() {
		if !u.direct.Load() {
			t.Errorf("%s track read through pion, not from the socket", u.kind)
		}
	}
}

// TestTCPPublisherReadsThroughPion: over ICE-TCP there is no datagram socket to read from: the
// publisher's streams are read through pion, and reach a subscriber.
func TestTCPPublisherReadsThroughPion(t *testing.T) {
	h := newHarness(t)
	startPublisherWith(t, h, newClientPC(t, webrtc.NetworkTypeTCP4), "alice", h264Baseline, h264Frames(t, 1, 30))
	sub := startSubscriber(t, h, "bob", "alice")
	eventually(t, 10*time.Second, "video and audio at the subscriber", func() bool {
		v, a := sub.counts()
		return v >= 30 && a >= 20
	})
	for _, u := range h.sfu.publisher(testAccount+h.stageID, "alice").upTracks() {
		if u.direct.Load() {
			t.Errorf("%s track of an ICE-TCP publisher claims to read from a UDP socket", u.kind)
		}
	}
}

// uniqueVideo counts the distinct video sequence numbers a subscriber received.
func uniqueVideo(s *testSubscriber) int {
	video, _ := s.snapshot()
	seen := map[uint16]bool{}
	for _, q := range video.seqs {
		seen[q] = true
	}
	return len(seen)
}

// sendLoss is a publisher's innermost interceptor: it drops a share of the video packets the
// publisher sends, after the NACK responder has kept them, as a lossy network would, and
// counts the NACKs that come back. Retransmissions (RTX) pass.
type sendLoss struct {
	rate float64

	mu                    sync.Mutex
	rng                   *rand.Rand
	seen, lost, nackCount int
}

func (l *sendLoss) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &sendLossOf{l: l}, nil
}

func (l *sendLoss) count(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

func (l *sendLoss) sent() (n int)    { l.count(func() { n = l.seen }); return n }
func (l *sendLoss) dropped() (n int) { l.count(func() { n = l.lost }); return n }
func (l *sendLoss) nacks() (n int)   { l.count(func() { n = l.nackCount }); return n }

type sendLossOf struct {
	interceptor.NoOp
	l *sendLoss
}

func (s *sendLossOf) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC != info.SSRC { // a retransmission
			return w.Write(h, payload, a)
		}
		drop := false
		s.l.count(func() {
			if s.l.rng == nil {
				s.l.rng = rand.New(rand.NewPCG(1, 2))
			}
			s.l.seen++
			if drop = s.l.rng.Float64() < s.l.rate; drop {
				s.l.lost++
			}
		})
		if drop {
			return len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

func (s *sendLossOf) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := r.Read(b, a)
		if err != nil {
			return n, attrs, err
		}
		if pkts, err := rtcp.Unmarshal(b[:n]); err == nil {
			for _, p := range pkts {
				if _, ok := p.(*rtcp.TransportLayerNack); ok {
					s.l.count(func() { s.l.nackCount++ })
				}
			}
		}
		return n, attrs, err
	})
}
