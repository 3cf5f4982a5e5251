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
	w      webrtc.TrackLocalWriter
}

func (c trackContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c trackContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c trackContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c trackContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
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
