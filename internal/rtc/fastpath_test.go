package rtc

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// fastForwarding is newForwarding's upTrack with one downtrack on the fast path, writing SRTP
// to a loopback socket the test reads and decrypts as the subscriber would.
type fastForwarding struct {
	*forwarding
	d    *downTrack
	recv *net.UDPConn
	keys srtpKeys
}

func newFastForwarding(t *testing.T) *fastForwarding {
	t.Helper()
	f := &fastForwarding{forwarding: &forwarding{up: newUpTrack(upTrackParams{
		mid: "0", kind: webrtc.RTPCodecTypeVideo, codec: testH264, streamID: "alice", log: testLogger(),
	})}}
	t.Cleanup(f.up.close)
	sock := testMediaSocket(t)
	var err error
	f.recv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.recv.Close() })
	f.keys = srtpKeys{profile: srtp.ProtectionProfileAeadAes128Gcm, key: make([]byte, 16), salt: make([]byte, 12)}
	rand.Read(f.keys.key)
	rand.Read(f.keys.salt)

	sub := testH264
	sub.PayloadType = 126
	rtxCodec := webrtc.RTPCodecParameters{PayloadType: 127, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=126"}}
	f.d = newDownTrack(f.up)
	ctx := trackContext{codecs: []webrtc.RTPCodecParameters{sub, rtxCodec}, ssrc: 1000, rtx: 2000, w: &discardWriter{}}
	if _, err := f.d.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := f.keys.newContext()
	if err != nil {
		t.Fatal(err)
	}
	fp := &fastPath{srtp: c}
	fp.target.Store(newUDPTarget(sock, f.recv.LocalAddr().(*net.UDPAddr).AddrPort()))
	f.d.fast.Store(fp)
	f.d.active.Store(true)
	f.packet(t, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}) // a keyframe opens it
	f.step()
	payload := make([]byte, 1100)
	payload[0], payload[1] = 0x7c, 0x05
	f.packet(t, payload)
	return f
}

// subscriberContext decrypts what the subscriber gets, as its SRTP session would.
func (f *fastForwarding) subscriberContext(t *testing.T) *srtp.Context {
	t.Helper()
	rx, err := f.keys.newContext()
	if err != nil {
		t.Fatal(err)
	}
	return rx
}

// read decrypts the next packet the subscriber's socket got.
func (f *fastForwarding) read(t *testing.T, rx *srtp.Context) *rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	f.recv.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := f.recv.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	plain, err := rx.DecryptRTP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestFastPath: the fast path's packets decrypt with the subscriber's keys and carry the
// downtrack's SSRC, payload type and sequence; a NACK is answered with RTX (RFC 4588) on the
// next write.
func TestFastPath(t *testing.T) {
	f := newFastForwarding(t)
	rx := f.subscriberContext(t)
	key := f.read(t, rx)
	f.step()
	p := f.read(t, rx)
	if p.SSRC != 1000 || p.PayloadType != 126 || p.SequenceNumber != key.SequenceNumber+1 || len(p.Payload) != 1100 {
		t.Fatalf("forwarded packet: SSRC %d PT %d seq %d (keyframe's %d), %d bytes", p.SSRC, p.PayloadType, p.SequenceNumber, key.SequenceNumber, len(p.Payload))
	}

	f.d.rtx.nacks.add(p.SequenceNumber)
	f.d.rtx.nacks.add(p.SequenceNumber + 100) // never sent: nothing to resend
	f.step()
	next, rtx := f.read(t, rx), f.read(t, rx)
	if next.SSRC != 1000 || next.SequenceNumber != p.SequenceNumber+1 {
		t.Fatalf("packet after the NACK: SSRC %d seq %d", next.SSRC, next.SequenceNumber)
	}
	if rtx.SSRC != 2000 || rtx.PayloadType != 127 || rtx.Timestamp != p.Timestamp ||
		binary.BigEndian.Uint16(rtx.Payload) != p.SequenceNumber || !bytes.Equal(rtx.Payload[2:], p.Payload) {
		t.Fatalf("RTX: SSRC %d PT %d ts %d (want %d), OSN %d (want %d)", rtx.SSRC, rtx.PayloadType, rtx.Timestamp, p.Timestamp, binary.BigEndian.Uint16(rtx.Payload), p.SequenceNumber)
	}
	if got := f.d.retransmitted.Load(); got != 1 {
		t.Errorf("retransmitted %d, want 1", got)
	}
}

// TestFastPathFailedSendRetransmitted: a packet the socket refused has used its sequence
// number, so it is kept for RTX; the subscriber's NACK for it is answered once sends work.
func TestFastPathFailedSendRetransmitted(t *testing.T) {
	f := newFastForwarding(t)
	rx := f.subscriberContext(t)
	key := f.read(t, rx)
	fp := f.d.fast.Load()
	good := fp.target.Load()
	// Port 0: the kernel refuses the send at once (EINVAL), as it would a full buffer (EAGAIN).
	fp.target.Store(newUDPTarget(good.sock, netip.MustParseAddrPort("127.0.0.1:0")))
	f.step()
	if got := f.d.failed.Load(); got != 1 {
		t.Fatalf("failed %d, want 1", got)
	}
	fp.target.Store(good)
	lost := key.SequenceNumber + 1
	f.d.rtx.nacks.add(lost)
	f.step()
	next, rtx := f.read(t, rx), f.read(t, rx)
	if next.SequenceNumber != lost+1 {
		t.Fatalf("packet after the failed one: seq %d, want %d", next.SequenceNumber, lost+1)
	}
	if rtx.SSRC != 2000 || binary.BigEndian.Uint16(rtx.Payload) != lost || len(rtx.Payload) != 2+1100 {
		t.Fatalf("RTX: SSRC %d, OSN %d (want %d), %d bytes", rtx.SSRC, binary.BigEndian.Uint16(rtx.Payload), lost, len(rtx.Payload))
	}
}

// TestFastPathKeys: with real pion peers, a UDP subscriber's downtracks take the fast path
// (the DTLS keys are reachable inside pion, and the pair's socket is found), and what they
// send plays: the client decrypts it with the keys pion derived on its side. If a pion upgrade
// hides the keys, the subscriber falls back to pion's path and this test fails.
func TestFastPathKeys(t *testing.T) {
	h := newHarness(t)
	startPublisher(t, h, "alice", h264Frames(t, 1, 30))
	sub := startSubscriber(t, h, "bob", "alice")
	waitConnected(t, sub.pc)
	x, err := h.sfu.session(sessionID(sub.location))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "every downtrack on the fast path", func() bool {
		x.sub.mu.Lock()
		defer x.sub.mu.Unlock()
		for _, d := range x.sub.downs {
			if d.fast.Load() == nil {
				return false
			}
		}
		return x.sub.fast && len(x.sub.downs) == 2
	})
	eventually(t, 10*time.Second, "video and audio at the subscriber", func() bool {
		v, a := sub.counts()
		return v >= 30 && a >= 20
	})
}

// TestFastPathZeroAllocs: forwarding over the fast path allocates nothing per packet.
func TestFastPathZeroAllocs(t *testing.T) {
	f := newFastForwarding(t)
	// The socket's buffer takes the packets: nobody reads them.
	f.recv.SetReadBuffer(4 << 20)
	if allocs := testing.AllocsPerRun(500, f.step); allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	if f.d.sent.Load() < 500 || f.d.failed.Load() != 0 {
		t.Errorf("sent %d, failed %d", f.d.sent.Load(), f.d.failed.Load())
	}
}

// TestSenderReport: a downtrack's sender report carries what it sent and extrapolates the
// RTP clock from the last frame to the report's time.
func TestSenderReport(t *testing.T) {
	var c srClock
	if c.report(1, 90000, time.Now(), 0) != nil {
		t.Fatal("a report before any packet")
	}
	c.sent(1000, 100, 0)
	c.sent(1000, 200, 1e6)
	c.sent(4000, 50, 2e6) // the next frame, 2 ms later
	wall := time.Date(2026, 12, 2, 0, 0, 0, 500_000_000, time.UTC)
	r := c.report(7, 90000, wall, 2e6+1e9) // one second after the last frame
	if r.SSRC != 7 || r.PacketCount != 3 || r.OctetCount != 350 || r.RTPTime != 4000+90000 {
		t.Errorf("report %+v", r)
	}
	secs, frac := r.NTPTime>>32, r.NTPTime&0xffffffff
	if secs != uint64(wall.Unix())+2208988800 || frac != 1<<31 {
		t.Errorf("NTP time %d.%d, want %d and half a second", secs, frac, wall.Unix()+2208988800)
	}
}

// TestTargetOf: the fast path writes from the socket of the selected pair's local address.
func TestTargetOf(t *testing.T) {
	c := testMediaSocket(t)
	e := &engine{conns: map[netip.Addr]*mediaSocket{netip.MustParseAddr("127.0.0.1"): c}}
	pair := &webrtc.ICECandidatePair{
		Local:  &webrtc.ICECandidate{Address: "127.0.0.1", Port: 1},
		Remote: &webrtc.ICECandidate{Address: "127.0.0.1", Port: 5004},
	}
	got, err := e.targetOf(pair)
	if err != nil || got.sock != c || got.addr != netip.MustParseAddrPort("127.0.0.1:5004") {
		t.Fatalf("targetOf: %+v, %v", got, err)
	}
	pair.Local.Address = "203.0.113.7" // --rtc-public-ip: no socket has it
	if _, err := e.targetOf(pair); err == nil {
		t.Error("a pair on an address with no socket got a target, with only loopback to send from")
	}
	private := testMediaSocket(t)
	e.conns[netip.MustParseAddr("10.0.0.5")] = private // stands in for the host's one private address
	if got, err := e.targetOf(pair); err != nil || got.sock != private {
		t.Errorf("behind 1:1 NAT: %+v, %v; want the private address's socket", got, err)
	}
	e.conns[netip.MustParseAddr("10.0.0.6")] = private
	if _, err := e.targetOf(pair); err == nil {
		t.Error("behind 1:1 NAT with two private addresses: a target, though which socket NAT reaches is unknown")
	}
}

// testMediaSocket is a media socket on a free loopback port, as the engine binds them.
func testMediaSocket(t testing.TB) *mediaSocket {
	t.Helper()
	m, err := listenMediaSocket(netip.MustParseAddrPort("127.0.0.1:0"), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.mux.Close()
		m.closeSend()
	})
	return m
}

// TestSubscriberRTCPDirect: once a UDP subscriber is on the fast path, its RTCP is taken at the
// media socket (rtcpin.go), and a PLI it sends still reaches the publisher as a keyframe request.
func TestSubscriberRTCPDirect(t *testing.T) {
	h := newHarness(t)
	pub := startPublisher(t, h, "alice", h264Frames(t, 1, 30))
	sub := startSubscriber(t, h, "bob", "alice")
	waitConnected(t, sub.pc)
	x, err := h.sfu.session(sessionID(sub.location))
	if err != nil {
		t.Fatal(err)
	}
	rtcpIn := func() *rtcpIn {
		x.sub.mu.Lock()
		defer x.sub.mu.Unlock()
		return x.sub.rtcp
	}
	eventually(t, 5*time.Second, "the subscriber's RTCP taken at the socket", func() bool { return rtcpIn() != nil })
	var ssrc uint32
	eventually(t, 10*time.Second, "the subscriber's video track", func() bool {
		for _, r := range sub.pc.GetReceivers() {
			if tr := r.Track(); tr != nil && tr.Kind() == webrtc.RTPCodecTypeVideo && tr.SSRC() != 0 {
				ssrc = uint32(tr.SSRC())
				return true
			}
		}
		return false
	})
	time.Sleep(pliInterval + 100*time.Millisecond) // past the PLI the subscriber's join caused
	before := pub.plis.Load()
	eventually(t, 5*time.Second, "the subscriber's PLI at the publisher", func() bool {
		if err := sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			t.Fatal(err)
		}
		return pub.plis.Load() > before
	})
	in := rtcpIn()
	if in.direct.Load() == 0 || in.bad.Load() != 0 {
		t.Fatalf("RTCP at the socket: %d handled, %d bad", in.direct.Load(), in.bad.Load())
	}
}
