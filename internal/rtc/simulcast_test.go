package rtc

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
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
	rids := []string{"q", "h", "f"}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range rids {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", participantID, webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tr)
	}
	sender, err := pc.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	h.whip.connect(pc, "/whip/"+h.stageID, h.token(participantID, true, false))
	waitConnected(t, pc)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { sendLayers(sender, layers, stop) })
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// layerPayload is the payload size of each layer's packets: at 50 packets per second about
// 40, 270 and 470 kbit/s, so a subscriber's bandwidth picks a layer.
var layerPayload = [3]int{60, 640, 1140}

// sendLayers writes a packet per layer every 20 ms, tagged with mid and rid header
// extensions as browsers send simulcast, its payload's second byte naming the layer; every
// tenth is an IDR.
func sendLayers(sender *webrtc.RTPSender, layers []*webrtc.TrackLocalStaticRTP, stop <-chan struct{}) {
	var midID, ridID uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	var payload [][]byte
	for _, n := range layerPayload {
		payload = append(payload, bytes.Repeat([]byte{0xaa}, n))
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := uint16(0); ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		nal := byte(0x41) // non-IDR slice
		if n%10 == 0 {
			nal = 0x65 // IDR slice
		}
		for i, l := range layers {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: n, Timestamp: uint32(n) * 1800, Marker: true}}
			_ = p.Header.SetExtension(midID, []byte("0"))
			_ = p.Header.SetExtension(ridID, []byte(l.RID()))
			p.Payload = payload[i][:layerPayload[i]]
			p.Payload[0], p.Payload[1] = nal, byte(i)
			_ = l.WriteRTP(p)
		}
	}
}

// layerCount counts the distinct layer tags among the video packets a subscriber received.
func (s *testSubscriber) layerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.layers)
}
