package whiptest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Publisher is a pion WHIP publisher: H.264 access units at 30 fps, looping, and Opus (silence
// unless Audio is set) every 20 ms. On a PLI or FIR it goes back to its latest IDR access unit (SPS, PPS, IDR) and
// continues from there, as an encoder answers with a keyframe, unless IgnoreKeyframeRequests.
type Publisher struct {
	ID       string // participant id, and the tracks' stream id
	Token    string
	PC       *webrtc.PeerConnection
	Location string // absolute; set by the caller once connected
	// IgnoreKeyframeRequests, set before Run, makes the publisher count PLIs and FIRs but keep
	// sending in order.
	IgnoreKeyframeRequests bool
	// Audio, set before Run, are the Opus packets (20 ms each) to send, looping, instead of
	// silence.
	Audio [][]byte

	Plis atomic.Int32 // keyframe requests received
	Sent atomic.Int32 // video frames written

	frames  [][]byte
	idrs    []int // indices of frames that are IDR access units
	video   *webrtc.TrackLocalStaticSample
	audio   *webrtc.TrackLocalStaticSample
	vsender *webrtc.RTPSender
	asender *webrtc.RTPSender
	restart atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup // the send and RTCP loops
}

// NewPublisher adds one H.264 and one Opus track to pc; nothing is sent yet. The publisher
// stops and closes pc at cleanup.
func NewPublisher(t testing.TB, pc *webrtc.PeerConnection, id, tok string, frames [][]byte) *Publisher {
	t.Helper()
	p := &Publisher{ID: id, Token: tok, PC: pc, frames: frames, stop: make(chan struct{})}
	for i, au := range frames {
		if bytes.Contains(NALTypes(au), []byte{NALIDR}) {
			p.idrs = append(p.idrs, i)
		}
	}
	if len(p.idrs) == 0 || p.idrs[0] != 0 {
		t.Fatalf("the encoded stream does not start with an IDR access unit")
	}
	var err error
	if p.video, err = webrtc.NewTrackLocalStaticSample(H264Baseline, "video", id); err != nil {
		t.Fatalf("video track: %v", err)
	}
	if p.audio, err = webrtc.NewTrackLocalStaticSample(Opus, "audio", id); err != nil {
		t.Fatalf("audio track: %v", err)
	}
	if p.vsender, err = pc.AddTrack(p.video); err != nil {
		t.Fatalf("add the video track: %v", err)
	}
	if p.asender, err = pc.AddTrack(p.audio); err != nil {
		t.Fatalf("add the audio track: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

// Run starts the send loop and the RTCP readers (which also let the interceptors, the NACK
// responder and reports, see the RTCP).
func (p *Publisher) Run() {
	p.wg.Go(func() { p.readRTCP(p.vsender, true) })
	p.wg.Go(func() { p.readRTCP(p.asender, false) })
	p.wg.Go(p.send)
}

// Stop ends the send loop and closes the PeerConnection; later calls do nothing.
func (p *Publisher) Stop() { p.close() }

func (p *Publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.PC.GracefulClose()
	p.wg.Wait()
}

// readRTCP counts the video's keyframe requests and asks the send loop for a keyframe.
func (p *Publisher) readRTCP(sender *webrtc.RTPSender, video bool) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if !video {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.Plis.Add(1)
				if !p.IgnoreKeyframeRequests {
					p.restart.Store(true)
				}
			}
		}
	}
}

// send paces video at 30 fps and audio at 50 packets per second.
func (p *Publisher) send() {
	vt := time.NewTicker(time.Second / 30)
	at := time.NewTicker(20 * time.Millisecond)
	defer vt.Stop()
	defer at.Stop()
	i, a := 0, 0
	for {
		select {
		case <-p.stop:
			return
		case <-vt.C:
			if p.restart.Swap(false) {
				i = p.latestIDR(i)
			}
			_ = p.video.WriteSample(media.Sample{Data: p.frames[i], Duration: time.Second / 30})
			i = (i + 1) % len(p.frames)
			p.Sent.Add(1)
		case <-at.C:
			pkt := OpusSilence
			if len(p.Audio) > 0 {
				pkt, a = p.Audio[a], (a+1)%len(p.Audio)
			}
			_ = p.audio.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond})
		}
	}
}

// latestIDR is the index of the last IDR access unit before frame next.
func (p *Publisher) latestIDR(next int) int {
	last := p.idrs[0]
	for _, i := range p.idrs {
		if i < next {
			last = i
		}
	}
	return last
}
