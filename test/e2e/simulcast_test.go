package e2e_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// TestSimulcastLayerFollowsBandwidth: through the real server, a publisher sends three
// simulcast layers (RIDs q, h, f); a subscriber whose bandwidth is capped (REMB 150 kbps)
// receives the low layer, starting at a keyframe, and an uncapped one the high layer. Lifting
// the cap moves the first subscriber up at a keyframe with no break in its sequence numbers.
func TestSimulcastLayerFollowsBandwidth(t *testing.T) {
	s := servertest.Start(t, nil)
	st, toks := createStage(t, s.Client(), tokenConfig{user: "alice"}, tokenConfig{user: "bob"}, tokenConfig{user: "carol"})
	startLayeredPublisher(t, st.Endpoints.WHIP, toks[0])

	capped := subscribeLayers(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[1].Token)
	free := subscribeLayers(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[2].Token)
	var rate atomic.Uint64
	rate.Store(150_000)
	capped.sendREMB(t, &rate)

	poll(t, 10*time.Second, "the capped subscriber on the low layer", func() bool { return capped.trailing(0) >= 25 })
	poll(t, 10*time.Second, "the uncapped subscriber on the high layer", func() bool { return free.trailing(2) >= 25 })

	heads, seqs := capped.snapshot()
	if heads[0][0] != whiptest.IDRByte {
		t.Errorf("capped subscriber's video starts with %x, want an IDR", heads[0])
	}
	if low := whiptest.FirstOfLayer(heads, 0); heads[low][0] != whiptest.IDRByte {
		t.Errorf("capped subscriber's low layer starts with %x, want an IDR", heads[low])
	}
	whiptest.CheckContinuous(t, "capped", seqs)
	heads, seqs = free.snapshot()
	for i, h := range heads {
		if h[1] != 2 {
			t.Fatalf("uncapped subscriber's packet %d is from layer %d", i, h[1])
		}
	}
	if heads[0][0] != whiptest.IDRByte {
		t.Errorf("uncapped subscriber's video starts with %x, want an IDR", heads[0])
	}
	whiptest.CheckContinuous(t, "uncapped", seqs)

	rate.Store(5_000_000)
	poll(t, 10*time.Second, "the capped subscriber, cap lifted, on the high layer", func() bool { return capped.trailing(2) >= 25 })
	heads, seqs = capped.snapshot()
	if up := len(heads) - capped.trailing(2); heads[up][0] != whiptest.IDRByte {
		t.Errorf("switch up lands on %x, want an IDR", heads[up])
	}
	whiptest.CheckContinuous(t, "capped after the switch up", seqs)
}

// startLayeredPublisher publishes whiptest's three simulcast layers until the test ends.
func startLayeredPublisher(t *testing.T, whip string, tok tokenOut) {
	t.Helper()
	pc := whiptest.NewPeer(t, whiptest.PeerOptions{})
	sender, layers := whiptest.AddSimulcast(t, pc, tok.ParticipantID)
	connect(t, pc, whip, tok.Token)
	whiptest.WaitConnected(t, pc, "publisher")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { whiptest.SendLayers(sender, layers, stop) })
	wg.Go(func() { // the sender's RTCP (PLIs) must be read for the interceptors
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() { close(stop); pc.Close(); wg.Wait() })
}

// layerSubscriber records the first two payload bytes (NAL header, layer) and the sequence
// number of every video packet it receives.
type layerSubscriber struct {
	pc    *webrtc.PeerConnection
	mu    sync.Mutex // guards heads and seqs
	heads [][2]byte
	seqs  []uint16
	ssrc  atomic.Uint32
}

func subscribeLayers(t *testing.T, whip, target, tok string) *layerSubscriber {
	t.Helper()
	s := &layerSubscriber{pc: whiptest.NewPeer(t, whiptest.PeerOptions{})}
	s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	s.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		s.ssrc.Store(uint32(tr.SSRC()))
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if len(p.Payload) >= 2 {
				s.mu.Lock()
				s.heads = append(s.heads, [2]byte{p.Payload[0], p.Payload[1]})
				s.seqs = append(s.seqs, p.SequenceNumber)
				s.mu.Unlock()
			}
		}
	})
	connect(t, s.pc, whip+"/subscribe/"+target, tok)
	return s
}

// sendREMB reports the subscriber's receive bandwidth as *rate every 200 ms, as a receiver
// does (RTCP REMB), until the test ends.
func (s *layerSubscriber) sendREMB(t *testing.T, rate *atomic.Uint64) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if ssrc := s.ssrc.Load(); ssrc != 0 {
				s.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(rate.Load()), SSRCs: []uint32{ssrc}}})
			}
		}
	})
	t.Cleanup(func() { close(stop); wg.Wait() })
}

func (s *layerSubscriber) snapshot() ([][2]byte, []uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][2]byte(nil), s.heads...), append([]uint16(nil), s.seqs...)
}

// trailing counts the packets of layer at the end of what the subscriber received.
func (s *layerSubscriber) trailing(layer byte) int {
	heads, _ := s.snapshot()
	return whiptest.TrailingLayer(heads, layer)
}
