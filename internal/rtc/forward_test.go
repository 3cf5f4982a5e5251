package rtc

import (
	"encoding/binary"
	"log/slog"
	"strconv"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter is a TrackLocalWriter that keeps only what a test checks.
type discardWriter struct {
	packets uint64
	lastSeq uint16
	ssrc    uint32
	pt      uint8
}

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.packets++
	w.lastSeq, w.ssrc, w.pt = h.SequenceNumber, h.SSRC, h.PayloadType
	return h.MarshalSize() + len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// trackContext is what pion hands a TrackLocal in Bind.
type trackContext struct {
	codecs []webrtc.RTPCodecParameters
	ssrc   webrtc.SSRC
	rtx    webrtc.SSRC
	w      webrtc.TrackLocalWriter
}

func (c trackContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c trackContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c trackContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c trackContext) SSRCRetransmission() webrtc.SSRC         { return c.rtx }
func (c trackContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c trackContext) WriteStream() webrtc.TrackLocalWriter    { return c.w }
func (c trackContext) ID() string                              { return "ctx" }
func (c trackContext) RTCPReader() interceptor.RTCPReader      { return nil }

var testH264 = webrtc.RTPCodecParameters{PayloadType: 102, RTPCodecCapability: webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
}}

// forwarding is an upTrack fanning out to n bound, active downtracks.
type forwarding struct {
	up      *upTrack
	writers []*discardWriter
	raw     []byte // one marshaled packet, rewritten in place
	seq     uint16
	now     int64
}

func newForwarding(tb testing.TB, n int) *forwarding {
	tb.Helper()
	f := &forwarding{up: newUpTrack(upTrackParams{
		mid: "0", kind: webrtc.RTPCodecTypeVideo, codec: testH264, streamID: "alice",
		log: slog.New(slog.DiscardHandler),
	})}
	tb.Cleanup(f.up.close)
	subscriberCodec := testH264
	subscriberCodec.PayloadType = 126 // each subscriber negotiates its own payload type
	for i := range n {
		w := &discardWriter{}
		d := newDownTrack(f.up)
		if _, err := d.Bind(trackContext{codecs: []webrtc.RTPCodecParameters{subscriberCodec}, ssrc: webrtc.SSRC(1000 + i), w: w}); err != nil {
			tb.Fatal(err)
		}
		d.active.Store(true)
		f.writers = append(f.writers, w)
	}
	// A keyframe start (STAP-A with SPS and PPS) opens every downtrack.
	f.packet(tb, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce})
	f.step()
	// From then on: FU-A middles of 1100 bytes, as a camera sends.
	payload := make([]byte, 1100)
	payload[0], payload[1] = 0x7c, 0x05
	f.packet(tb, payload)
	return f
}

// packet marshals the next packet into f.raw.
func (f *forwarding) packet(tb testing.TB, payload []byte) {
	tb.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: f.seq, Timestamp: 3000, SSRC: 0xabc}, Payload: payload}
	raw, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	f.raw = raw
}

// step is the per-packet work of readLoop after Read: parse into the reused packet, fan out.
func (f *forwarding) step() {
	binary.BigEndian.PutUint16(f.raw[2:], f.seq)
	f.seq++
	if f.up.pkt.Unmarshal(f.raw) != nil {
		panic("unmarshal")
	}
	f.now += 1e6
	f.up.forward(f.now)
}

func TestForwardZeroAllocs(t *testing.T) {
	f := newForwarding(t, 8)
	allocs := testing.AllocsPerRun(1000, f.step)
	if allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	for i, w := range f.writers {
		if w.packets != 1002 || w.ssrc != uint32(1000+i) || w.pt != 126 {
			t.Errorf("downtrack %d: %d packets, SSRC %d, PT %d", i, w.packets, w.ssrc, w.pt)
		}
	}
}

func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n)+"-subscribers", func(b *testing.B) {
			f := newForwarding(b, n)
			b.ReportAllocs()
			for b.Loop() {
				f.step()
			}
		})
	}
}

func BenchmarkKeyframeH264(b *testing.B) {
	p := []byte{0x7c, 0x05, 0xaa, 0xbb}
	b.ReportAllocs()
	for b.Loop() {
		isH264Keyframe(p)
	}
}

func BenchmarkMunger(b *testing.B) {
	m := newMunger(1, 1)
	m.rebase(100, 100, 0, 90000)
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		seq++
		m.rewrite(seq, uint32(seq)*3000, int64(seq))
	}
}

// simulcastForwarding is a three-layer m-line fanning out to n simulcast downtracks; each
// step delivers one packet on every layer, as the three layer goroutines would.
type simulcastForwarding struct {
	layers  []*upTrack
	downs   []*downTrack
	writers []*continuityWriter
	raw     [][]byte // one marshaled packet per layer, rewritten in place
	key     []byte   // a keyframe start's payload
	seq     uint16
	now     int64
}

// continuityWriter counts packets and sequence-number gaps.
type continuityWriter struct {
	packets, gaps uint64
	lastSeq       uint16
}

func (w *continuityWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.packets > 0 && h.SequenceNumber != w.lastSeq+1 {
		w.gaps++
	}
	w.packets++
	w.lastSeq = h.SequenceNumber
	return h.MarshalSize() + len(payload), nil
}

func (w *continuityWriter) Write(b []byte) (int, error) { return len(b), nil }

func newSimulcastForwarding(tb testing.TB, n int) *simulcastForwarding {
	tb.Helper()
	top := newLayers(upTrackParams{
		mid: "0", kind: webrtc.RTPCodecTypeVideo, codec: testH264, streamID: "alice",
		log: slog.New(slog.DiscardHandler),
	}, []string{"q", "h", "f"})
	f := &simulcastForwarding{layers: top.layers, key: []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}}
	for _, l := range f.layers {
		// Keyframe requests stay pending: a PLI going out runs on a timer goroutine, whose
		// start would count as an allocation of the packet path.
		l.lastPLI.Store(1 << 62)
		tb.Cleanup(l.close)
	}
	for i := range n {
		w := &continuityWriter{}
		d := newDownTrack(top)
		if _, err := d.Bind(trackContext{codecs: []webrtc.RTPCodecParameters{testH264}, ssrc: webrtc.SSRC(1000 + i), w: w}); err != nil {
			tb.Fatal(err)
		}
		d.active.Store(true)
		f.downs = append(f.downs, d)
		f.writers = append(f.writers, w)
	}
	payload := make([]byte, 1100)
	payload[0], payload[1] = 0x7c, 0x05 // FU-A middle
	for i := range f.layers {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Timestamp: 3000, SSRC: uint32(0xabc + i)}, Payload: payload}
		raw, err := p.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		f.raw = append(f.raw, raw)
	}
	return f
}

// step delivers the next packet on every layer: every 30th starts a keyframe (STAP-A with
// SPS and PPS), and every 100th step the downtracks' target moves to the next layer.
func (f *simulcastForwarding) step() {
	if f.seq%100 == 50 {
		for _, d := range f.downs {
			d.setTarget((d.target.Load() + 1) % int32(len(f.layers)))
		}
	}
	for i, l := range f.layers {
		raw := f.raw[i]
		binary.BigEndian.PutUint16(raw[2:], f.seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(f.seq)*3000)
		if l.pkt.Unmarshal(raw) != nil {
			panic("unmarshal")
		}
		if f.seq%30 == 0 {
			l.pkt.Payload = f.key
		}
		l.forward(f.now)
	}
	f.seq++
	f.now += 33e6
}

func TestForwardZeroAllocsSimulcast(t *testing.T) {
	f := newSimulcastForwarding(t, 8)
	allocs := testing.AllocsPerRun(1000, f.step)
	if allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	for i, d := range f.downs {
		w := f.writers[i]
		if d.switches.Load() < 5 || w.gaps != 0 || w.packets < 900 {
			t.Errorf("downtrack %d: %d switches, %d packets, %d sequence gaps", i, d.switches.Load(), w.packets, w.gaps)
		}
	}
}

func BenchmarkForwardSimulcast(b *testing.B) {
	f := newSimulcastForwarding(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		f.step()
	}
}
