package rtc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The RTCP a publisher gets back for what it sends: NACKs for lost packets (RFC 4585), receiver
// reports (RFC 3550 §6.4.2) and transport-wide congestion control feedback for its bandwidth
// estimation (draft-holmer-rmcat-transport-wide-cc-extensions). pion's interceptors do the work,
// but not in pion's chain: a publisher's streams are read either from pion's track (ICE-TCP) or
// directly from the socket (inbound.go), which pion's chain never sees. So each publisher
// builds the interceptors for itself (feedback), and its tracks' read loops hand every packet
// to them, whichever way it came.

// feedbackInterval is how often TWCC feedback goes out: pion's default, and Chrome's order.
const feedbackInterval = 100 * time.Millisecond

// newFeedbackRegistry is the interceptors every publisher builds its feedback from.
func newFeedbackRegistry(logs logging.LoggerFactory) (*interceptor.Registry, error) {
	reg := &interceptor.Registry{}
	generator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	receiver, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("receiver reports: %w", err)
	}
	reg.Add(generator)
	reg.Add(receiver)
	return reg, nil
}

// feedback is one publisher's receive-side RTCP: pion's NACK generator and receiver reports
// (chain), and the TWCC recorder, kept apart so that RTX padding (bandwidth probes) can be
// recorded for TWCC without reaching the media stream's NACK and loss accounting.
type feedback struct {
	chain  interceptor.Interceptor
	twcc   *twccFeedback
	rtcpIn interceptor.RTCPReader // the interceptors' view of the RTCP the publisher sends
}

// newFeedback builds the interceptors for one publisher; they send with write.
func newFeedback(reg *interceptor.Registry, write func([]rtcp.Packet) error) (*feedback, error) {
	chain, err := reg.Build("")
	if err != nil {
		return nil, fmt.Errorf("build feedback interceptors: %w", err)
	}
	w := interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		return 0, write(pkts)
	})
	chain.BindRTCPWriter(w)
	t := newTWCCFeedback()
	t.BindRTCPWriter(w)
	return &feedback{chain: chain, twcc: t, rtcpIn: chain.BindRTCPReader(interceptor.RTCPReaderFunc(passThrough))}, nil
}

// passThrough is the bottom of a chain fed by its caller: the buffer already holds the packet.
func passThrough(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return len(b), a, nil
}

// bind gives a received stream its reader; rtx is the stream's RTX SSRC, or 0.
func (f *feedback) bind(info *interceptor.StreamInfo, rtx uint32) *feedbackReader {
	r := f.twcc.BindRemoteStream(info, f.chain.BindRemoteStream(info, interceptor.RTPReaderFunc(passThrough)))
	fr := &feedbackReader{r: r, attrs: interceptor.Attributes{}}
	if rtx != 0 {
		probe := *info
		probe.SSRC = rtx
		fr.probe = f.twcc.BindRemoteStream(&probe, interceptor.RTPReaderFunc(passThrough))
	}
	return fr
}

// readRTCP shows the interceptors an RTCP compound packet from the publisher (their sender
// reports time the receiver reports).
func (f *feedback) readRTCP(b []byte) {
	_, _, _ = f.rtcpIn.Read(b, nil)
}

func (f *feedback) close() error { return errors.Join(f.chain.Close(), f.twcc.Close()) }

// streamInfo describes a received stream to the interceptors as pion does.
func streamInfo(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *interceptor.StreamInfo {
	codec := remote.Codec()
	info := &interceptor.StreamInfo{
		SSRC:        uint32(remote.SSRC()),
		PayloadType: uint8(codec.PayloadType),
		MimeType:    codec.MimeType,
		ClockRate:   codec.ClockRate,
		Channels:    codec.Channels,
	}
	for _, fb := range codec.RTCPFeedback {
		info.RTCPFeedback = append(info.RTCPFeedback, interceptor.RTCPFeedback{Type: fb.Type, Parameter: fb.Parameter})
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		info.RTPHeaderExtensions = append(info.RTPHeaderExtensions, interceptor.RTPHeaderExtension{URI: e.URI, ID: e.ID})
	}
	return info
}

// rtpHeaderKey is the key under which pion's interceptors cache a packet's parsed header in
// its attributes. The key's type is pion's own and unexported, so it is found once by asking
// pion to cache a header. A read loop stores its own parsed header under it, so the
// interceptors neither parse the header again nor allocate one per packet.
var rtpHeaderKey = func() any {
	a := interceptor.Attributes{}
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2}}).Marshal()
	if _, err := a.GetRTPHeader(raw); err != nil {
		return nil
	}
	for k := range a {
		return k
	}
	return nil
}()

// feedbackReader is one stream's reader in a publisher's feedback, owned by the track's loop.
type feedbackReader struct {
	r     interceptor.RTPReader
	probe interceptor.RTPReader // TWCC alone, for the RTX stream's padding; nil without RTX
	attrs interceptor.Attributes
	h     *rtp.Header // what attrs holds under rtpHeaderKey
}

// read hands one received packet, raw, whose header h was parsed from it, to the interceptors.
func (f *feedbackReader) read(raw []byte, h *rtp.Header) { f.readWith(f.r, raw, h) }

// readProbe records a padding-only RTX packet for TWCC only: its sequence number is the RTX
// stream's, not the media stream's.
func (f *feedbackReader) readProbe(raw []byte, h *rtp.Header) {
	if f.probe != nil {
		f.readWith(f.probe, raw, h)
	}
}

func (f *feedbackReader) readWith(r interceptor.RTPReader, raw []byte, h *rtp.Header) {
	switch {
	case rtpHeaderKey == nil:
		clear(f.attrs)
	case h != f.h: // the loop reuses one header: no map write (and its interface hashing) per packet
		f.attrs[rtpHeaderKey] = h
		f.h = h
	}
	_, _, _ = r.Read(raw, f.attrs)
}

// twccFeedback records transport-wide sequence numbers and sends TWCC feedback. pion's TWCC
// interceptor hands every packet to its feedback goroutine over an unbuffered channel: a
// goroutine wake-up per received packet. This one records under a lock the read loops share
// with the feedback ticker.
type twccFeedback struct {
	start time.Time

	mu   sync.Mutex // guards rec
	rec  *twcc.Recorder
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newTWCCFeedback() *twccFeedback {
	return &twccFeedback{rec: twcc.NewRecorder(rand.Uint32()), done: make(chan struct{}), start: time.Now()}
}

// BindRTCPWriter starts the feedback ticker.
func (t *twccFeedback) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	t.wg.Go(func() {
		tick := time.NewTicker(feedbackInterval)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case <-tick.C:
				t.mu.Lock()
				pkts := t.rec.BuildFeedbackPacket()
				t.mu.Unlock()
				if len(pkts) > 0 {
					_, _ = w.Write(pkts, nil) // a closed connection: Close follows
				}
			}
		}
	})
	return w
}

// BindRemoteStream records the transport-wide sequence number of every packet of a stream
// that carries it.
func (t *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := reader.Read(b, a)
		if err != nil {
			return n, attrs, err
		}
		h, err := attrs.GetRTPHeader(b[:n])
		if err != nil {
			return n, attrs, nil
		}
		ext := h.GetExtension(id)
		if len(ext) < 2 {
			return n, attrs, nil
		}
		seq := uint16(ext[0])<<8 | uint16(ext[1])
		at := time.Since(t.start).Microseconds()
		t.mu.Lock()
		t.rec.Record(ssrc, seq, at)
		t.mu.Unlock()
		return n, attrs, nil
	})
}

func (t *twccFeedback) Close() error {
	t.once.Do(func() { close(t.done) })
	t.wg.Wait()
	return nil
}
