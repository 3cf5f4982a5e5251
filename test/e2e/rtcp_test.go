package e2e_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// rtcpSeen records the RTCP a peer receives from the server, as its innermost interceptor
// (PeerOptions.First) sees it: after SRTCP, before pion's own interceptors.
type rtcpSeen struct {
	mu   sync.Mutex     // guards the maps and twcc
	sr   map[uint32]int // sender reports by the SSRC they describe
	rr   map[uint32]int // receiver report blocks by the SSRC they report on
	twcc int            // transport-wide congestion control feedback packets
}

func newRTCPSeen() *rtcpSeen { return &rtcpSeen{sr: map[uint32]int{}, rr: map[uint32]int{}} }

func (s *rtcpSeen) add(pkts []rtcp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if p.PacketCount > 0 {
				s.sr[p.SSRC]++
			}
		case *rtcp.ReceiverReport:
			for _, r := range p.Reports {
				s.rr[r.SSRC]++
			}
		case *rtcp.TransportLayerCC:
			s.twcc++
		}
	}
}

func (s *rtcpSeen) counts(ssrc uint32) (sr, rr, twcc int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sr[ssrc], s.rr[ssrc], s.twcc
}

// NewInterceptor makes rtcpSeen an interceptor.Factory.
func (s *rtcpSeen) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpTap{seen: s}, nil
}

type rtcpTap struct {
	interceptor.NoOp
	seen *rtcpSeen
}

func (i *rtcpTap) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			if pkts, err := rtcp.Unmarshal(b[:n]); err == nil {
				i.seen.add(pkts)
			}
		}
		return n, a, err
	})
}

// twccSequencer puts transport-wide sequence numbers on a peer's packets, as browsers do.
type twccSequencer struct{}

func (twccSequencer) NewInterceptor(id string) (interceptor.Interceptor, error) {
	f, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, err
	}
	return f.NewInterceptor(id)
}

// senderSSRCs returns the SSRC of a peer's sent video and audio.
func senderSSRCs(t *testing.T, pc *webrtc.PeerConnection) map[webrtc.RTPCodecType]uint32 {
	t.Helper()
	out := map[webrtc.RTPCodecType]uint32{}
	for _, s := range pc.GetSenders() {
		if s.Track() != nil && len(s.GetParameters().Encodings) > 0 {
			out[s.Track().Kind()] = uint32(s.GetParameters().Encodings[0].SSRC)
		}
	}
	if len(out) != 2 {
		t.Fatalf("the publisher sends %d tracks, want video and audio", len(out))
	}
	return out
}

// receivedSSRCs returns the SSRC of each track a peer receives, once both have arrived.
func receivedSSRCs(t *testing.T, pc *webrtc.PeerConnection) map[webrtc.RTPCodecType]uint32 {
	t.Helper()
	out := map[webrtc.RTPCodecType]uint32{}
	poll(t, 10*time.Second, "both tracks at the subscriber", func() bool {
		for _, tr := range pc.GetTransceivers() {
			if r := tr.Receiver(); r != nil && r.Track() != nil && r.Track().SSRC() != 0 {
				out[r.Track().Kind()] = uint32(r.Track().SSRC())
			}
		}
		return len(out) == 2
	})
	return out
}

// TestRTCPThroughServer: the server speaks RTCP to both sides. The publisher hears receiver
// reports on its video and its audio and transport-wide congestion control feedback (it
// stamps transport-wide sequence numbers, as browsers do); the subscriber hears a sender
// report for each of its two tracks.
func TestRTCPThroughServer(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "pub"}, tokenConfig{user: "sub", caps: []string{"SUBSCRIBE"}})
	pubSeen, subSeen := newRTCPSeen(), newRTCPSeen()
	pub := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{First: pubSeen, Last: twccSequencer{}}),
		toks[0].ParticipantID, toks[0].Token, h264Frames(t, 3, 30))
	pub.Location = connect(t, pub.PC, st.Endpoints.WHIP, pub.Token).Location
	pub.Run()
	sub := whiptest.NewSubscriber(t, whiptest.NewPeer(t, whiptest.PeerOptions{First: subSeen}), pub.ID, toks[1].Token)
	sub.Location = connect(t, sub.PC, st.Endpoints.WHIP+"/subscribe/"+pub.ID, sub.Token).Location

	for kind, ssrc := range senderSSRCs(t, pub.PC) {
		poll(t, 15*time.Second, fmt.Sprintf("receiver reports on the publisher's %s and TWCC feedback", kind), func() bool {
			_, rr, twcc := pubSeen.counts(ssrc)
			return rr >= 2 && twcc >= 2
		})
	}
	for kind, ssrc := range receivedSSRCs(t, sub.PC) {
		poll(t, 15*time.Second, fmt.Sprintf("sender reports on the subscriber's %s", kind), func() bool {
			sr, _, _ := subSeen.counts(ssrc)
			return sr >= 2
		})
	}
}

// TestSubscriberPLIReachesPublisher: once the stream runs, a PLI the subscriber sends on its
// own reaches the publisher as a keyframe request, and the keyframe it answers with reaches
// the subscriber. The clip has one IDR every 300 frames (10 s), so a keyframe soon after the
// PLI is the answer to it; three rounds, so no stray request can pass for all of them.
func TestSubscriberPLIReachesPublisher(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "pub"}, tokenConfig{user: "sub", caps: []string{"SUBSCRIBE"}})
	pub := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, h264Frames(t, 10, 300))
	whiptest.WaitConnected(t, pub.PC, "publisher")
	sub := startSubscriber(t, st.Endpoints.WHIP, pub.ID, toks[1].Token)
	poll(t, 15*time.Second, "45 video frames at the subscriber", func() bool {
		f, _ := sub.Counts()
		return f >= 45
	})
	videoSSRC := receivedSSRCs(t, sub.PC)[webrtc.RTPCodecTypeVideo]
	keyframes := func() int {
		video, _ := sub.Snapshot()
		n := 0
		for _, p := range video.Payloads {
			if whiptest.IsH264Keyframe(p) {
				n++
			}
		}
		return n
	}
	for round := range 3 {
		plis, keys := pub.Plis.Load(), keyframes()
		if err := sub.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: videoSSRC}}); err != nil {
			t.Fatalf("round %d: send PLI: %v", round, err)
		}
		poll(t, 5*time.Second, fmt.Sprintf("round %d: the keyframe request at the publisher", round), func() bool {
			return pub.Plis.Load() > plis
		})
		poll(t, 5*time.Second, fmt.Sprintf("round %d: a keyframe at the subscriber", round), func() bool {
			return keyframes() > keys
		})
	}
	video, _ := sub.Snapshot()
	whiptest.CheckInOrder(t, "video", video.Seqs)
}
