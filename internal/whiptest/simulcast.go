package whiptest

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// IDRByte is the NAL header SendLayers gives an IDR slice (a non-IDR slice is 0x41).
const IDRByte = 0x65

// LayerBytes is each simulcast layer's payload size: at 50 packets/s about 40, 270 and 470
// kbit/s, so a subscriber's bandwidth picks a layer.
var LayerBytes = [3]int{60, 640, 1140}

// AddSimulcast adds three H.264 layers, RIDs q, h and f (lowest first), to pc as streamID.
func AddSimulcast(t testing.TB, pc *webrtc.PeerConnection, streamID string) (*webrtc.RTPSender, []*webrtc.TrackLocalStaticRTP) {
	t.Helper()
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range []string{"q", "h", "f"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", streamID, webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatalf("simulcast track %s: %v", rid, err)
		}
		layers = append(layers, tr)
	}
	sender, err := pc.AddTrack(layers[0])
	if err != nil {
		t.Fatalf("add simulcast track: %v", err)
	}
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			t.Fatalf("add simulcast encoding %s: %v", l.RID(), err)
		}
	}
	return sender, layers
}

// SendLayers writes a packet per layer every 20 ms until stop closes, tagged with mid and rid
// header extensions as browsers send simulcast (RFC 8853); each payload's second byte names
// its layer and every tenth packet is an IDR.
func SendLayers(sender *webrtc.RTPSender, layers []*webrtc.TrackLocalStaticRTP, stop <-chan struct{}) {
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
	for _, n := range LayerBytes {
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
		nal := byte(0x41)
		if n%10 == 0 {
			nal = IDRByte
		}
		for i, l := range layers {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: n, Timestamp: uint32(n) * 1800, Marker: true}}
			_ = p.Header.SetExtension(midID, []byte("0"))
			_ = p.Header.SetExtension(ridID, []byte(l.RID()))
			p.Payload = payload[i]
			p.Payload[0], p.Payload[1] = nal, byte(i)
			_ = l.WriteRTP(p)
		}
	}
}

// TrailingLayer counts the packets of layer at the end of heads (each packet's first two
// payload bytes, as SendLayers writes them).
func TrailingLayer(heads [][2]byte, layer byte) int {
	n := 0
	for i := len(heads) - 1; i >= 0 && heads[i][1] == layer; i-- {
		n++
	}
	return n
}

// FirstOfLayer returns the index of layer's first packet in heads, or -1.
func FirstOfLayer(heads [][2]byte, layer byte) int {
	for i, h := range heads {
		if h[1] == layer {
			return i
		}
	}
	return -1
}

// CheckContinuous fails t unless every sequence number follows the previous one by exactly 1:
// on loopback nothing is lost, so layer switches must not show.
func CheckContinuous(t testing.TB, who string, seqs []uint16) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("%s: sequence number %d follows %d (packet %d of %d)", who, seqs[i], seqs[i-1], i, len(seqs))
		}
	}
}
