package rtc

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/whiptest"
)

// TestSimulcastLayerPerSubscriber: a subscriber whose REMB says 150 kbit/s gets the low
// layer, from a keyframe on; one without a bandwidth signal gets the high layer. Lifting the
// cap moves the first up to the high layer at a keyframe, its sequence numbers continuous.
func TestSimulcastLayerPerSubscriber(t *testing.T) {
	h := newHarness(t)
	startSimulcastPublisher(t, h, "alice")

	capped := startSubscriber(t, h, "bob", "alice")
	free := startSubscriber(t, h, "carol", "alice")
	var rate atomic.Uint64
	rate.Store(150_000)
	sendREMB(t, capped, &rate)

	eventually(t, 10*time.Second, "the capped subscriber on the low layer", func() bool {
		v, _ := capped.snapshot()
		return whiptest.TrailingLayer(v.heads, 0) >= 25
	})
	eventually(t, 5*time.Second, "video at the uncapped subscriber", func() bool {
		v, _ := free.counts()
		return v >= 50
	})

	v, _ := free.snapshot()
	if v.heads[0][0] != whiptest.IDRByte || free.layerCount() != 1 || v.heads[0][1] != 2 {
		t.Errorf("uncapped subscriber: first packet %x, %d layers; want an IDR of layer 2 only", v.heads[0], free.layerCount())
	}

	v, _ = capped.snapshot()
	if v.heads[0][0] != whiptest.IDRByte {
		t.Errorf("capped subscriber's video starts with %x, want an IDR", v.heads[0])
	}
	low := whiptest.FirstOfLayer(v.heads, 0)
	if v.heads[low][0] != whiptest.IDRByte {
		t.Errorf("capped subscriber's low layer starts with %x, want an IDR", v.heads[low])
	}
	if n := whiptest.TrailingLayer(v.heads, 0); n != len(v.heads)-low {
		t.Errorf("capped subscriber left the low layer: %d of the %d packets since it began", len(v.heads)-low-n, len(v.heads)-low)
	}
	whiptest.CheckContinuous(t, "capped subscriber", v.seqs)

	rate.Store(5_000_000)
	eventually(t, 10*time.Second, "the capped subscriber, cap lifted, on the high layer", func() bool {
		v, _ := capped.snapshot()
		return whiptest.TrailingLayer(v.heads, 2) >= 25
	})
	v, _ = capped.snapshot()
	up := len(v.heads) - whiptest.TrailingLayer(v.heads, 2)
	if v.heads[up][0] != whiptest.IDRByte {
		t.Errorf("switch up lands on %x, want an IDR", v.heads[up])
	}
	whiptest.CheckContinuous(t, "capped subscriber", v.seqs)
}

// sendREMB has the subscriber report *rate as its receive bandwidth every 100 ms, as a
// browser does with goog-remb, until the test ends.
func sendREMB(t testing.TB, s *testSubscriber, rate *atomic.Uint64) {
	t.Helper()
	var ssrc uint32
	eventually(t, 5*time.Second, "the subscriber's video track", func() bool {
		for _, tr := range s.pc.GetTransceivers() {
			if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Receiver() != nil && tr.Receiver().Track() != nil {
				ssrc = uint32(tr.Receiver().Track().SSRC())
			}
		}
		return ssrc != 0
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
				Bitrate: float32(rate.Load()), SSRCs: []uint32{ssrc},
			}})
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	t.Cleanup(func() { close(stop); wg.Wait() })
}

func TestChooseLayer(t *testing.T) {
	layers := newLayers(upTrackParams{kind: webrtc.RTPCodecTypeVideo, codec: testH264, log: testLogger()},
		[]string{"q", "h", "f"}).layers
	for _, l := range layers {
		t.Cleanup(l.close)
	}
	tests := []struct {
		name     string
		rates    [3]uint64
		estimate uint64
		want     int32
	}{
		{"no estimate: the best", [3]uint64{100, 300, 900}, 0, 2},
		{"all fit", [3]uint64{100, 300, 900}, 1000, 2},
		{"middle fits", [3]uint64{100, 300, 900}, 500, 1},
		{"none fits: the lowest", [3]uint64{100, 300, 900}, 50, 0},
		{"unmeasured layer skipped", [3]uint64{100, 300, 0}, 5000, 1},
		{"nothing measured: the lowest", [3]uint64{0, 0, 0}, 5000, 0},
		{"lowest not sent, none fits", [3]uint64{0, 300, 900}, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, r := range tt.rates {
				layers[i].bitrate.Store(r)
			}
			if got := chooseLayer(layers, tt.estimate); got != tt.want {
				t.Errorf("chooseLayer = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBWELoss(t *testing.T) {
	t0 := time.Unix(0, 0)
	var e bwe
	e.loss(0, t0, 1000)
	e.loss(0, t0.Add(10*time.Second), 1000)
	if e.estimate != 0 {
		t.Fatalf("low loss alone set an estimate: %d", e.estimate)
	}
	e.loss(64, t0.Add(11*time.Second), 1000) // 25% lost
	if e.estimate != 850 {
		t.Fatalf("after heavy loss: %d, want 850", e.estimate)
	}
	e.loss(1, t0.Add(12*time.Second), 1000)
	e.loss(1, t0.Add(13*time.Second), 1000)
	if e.estimate != 850 {
		t.Fatalf("raised before %v of low loss: %d", lossRaiseAfter, e.estimate)
	}
	e.loss(1, t0.Add(16*time.Second), 1000)
	if e.estimate <= 850 {
		t.Fatalf("not raised after %v of low loss: %d", lossRaiseAfter, e.estimate)
	}
	e.remb(900)
	e.loss(1, t0.Add(20*time.Second), 1000)
	e.loss(1, t0.Add(30*time.Second), 1000)
	if e.estimate != 900 {
		t.Fatalf("REMB does not cap the raise: %d", e.estimate)
	}
}
