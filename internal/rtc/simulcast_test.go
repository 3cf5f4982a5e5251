package rtc

import (
	"sync"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/whiptest"
)

// TestSimulcastForwardsHighestLayer: a publisher sends three simulcast layers (RFC 8853);
// subscribers get the highest one, and only it.
func TestSimulcastForwardsHighestLayer(t *testing.T) {
	h := newHarness(t)
	startSimulcastPublisher(t, h, "alice")

	sub := startSubscriber(t, h, "bob", "alice")
	eventually(t, 5*time.Second, "video at the subscriber", func() bool {
		v, _ := sub.counts()
		return v >= 20
	})
	video, _ := sub.snapshot()
	if len(video.first) < 2 || video.first[1] != 2 {
		t.Errorf("first packet is from layer %v, want layer 2 (f)", video.first)
	}
	if n := sub.layerCount(); n != 1 {
		t.Errorf("packets from %d layers reached the subscriber", n)
	}
}

// startSimulcastPublisher publishes three H.264 layers q, h and f as participantID until
// the test ends.
func startSimulcastPublisher(t testing.TB, h *harness, participantID string) {
	t.Helper()
	pc := newClientPC(t)
	sender, layers := whiptest.AddSimulcast(t, pc, participantID)
	h.whip.connect(pc, "/whip/"+h.stageID, h.token(participantID, true, false))
	waitConnected(t, pc)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { whiptest.SendLayers(sender, layers, stop) })
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// layerCount counts the distinct layer tags among the video packets a subscriber received.
func (s *testSubscriber) layerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.layers)
}
