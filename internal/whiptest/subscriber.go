package whiptest

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Track is what a subscriber received on one track.
type Track struct {
	Mime     string
	StreamID string
	Seqs     []uint16 // every packet's sequence number, in arrival order
	Payloads [][]byte // every packet's payload, in arrival order
	Keyframe bool     // video: a packet that starts an H.264 keyframe arrived
	Markers  int      // packets with the marker bit: for video, complete frames
	// FirstFrameEnd is the number of packets up to and including the first with the
	// marker bit: the first frame's.
	FirstFrameEnd int
	FirstFrameAt  time.Time // when the first frame's last packet arrived
	FirstAt       time.Time
	LastAt        time.Time
}

// Subscriber is one WHEP-style subscription PeerConnection (recvonly video and audio)
// watching one publisher and recording what arrives.
type Subscriber struct {
	Target   string // the publisher's participant id
	Token    string
	PC       *webrtc.PeerConnection
	Location string    // absolute; set once connected
	Posted   time.Time // when the POST returned

	mu    sync.Mutex // guards video and audio
	video Track
	audio Track

	wg sync.WaitGroup // the track and RTCP readers
}

// NewSubscriber adds recvonly video and audio transceivers to pc and records what arrives;
// nothing is posted yet. pc is closed at cleanup.
func NewSubscriber(t testing.TB, pc *webrtc.PeerConnection, target, tok string) *Subscriber {
	t.Helper()
	s := &Subscriber{Target: target, Token: tok, PC: pc}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatalf("add a %s transceiver: %v", kind, err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.read(tr) })
		s.wg.Go(func() { readRTCP(recv) })
	})
	t.Cleanup(func() {
		pc.GracefulClose()
		s.wg.Wait()
	})
	return s
}

// Subscribe watches target from pc through POST <whip>/subscribe/<target> with tok.
func Subscribe(t testing.TB, pc *webrtc.PeerConnection, whip, target, tok string) *Subscriber {
	t.Helper()
	s := NewSubscriber(t, pc, target, tok)
	sess := Connect(t, pc, whip+"/subscribe/"+target, tok)
	s.Location, s.Posted = sess.Location, sess.Posted
	return s
}

// readRTCP reads what the server sends about a received track (sender reports), as a browser
// does, so the peer's interceptors see it, until the PeerConnection closes.
func readRTCP(recv *webrtc.RTPReceiver) {
	for {
		if _, _, err := recv.ReadRTCP(); err != nil {
			return
		}
	}
}

// read records a track's packets until the PeerConnection closes.
func (s *Subscriber) read(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		s.mu.Lock()
		l := &s.audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			l = &s.video
			l.Keyframe = l.Keyframe || IsH264Keyframe(pkt.Payload)
		}
		l.Payloads = append(l.Payloads, append([]byte(nil), pkt.Payload...))
		if l.FirstAt.IsZero() {
			l.FirstAt, l.StreamID = now, tr.StreamID()
		}
		l.Mime = tr.Codec().MimeType
		l.LastAt = now
		l.Seqs = append(l.Seqs, pkt.SequenceNumber)
		if pkt.Marker {
			if l.Markers == 0 {
				l.FirstFrameEnd, l.FirstFrameAt = len(l.Seqs), now
			}
			l.Markers++
		}
		s.mu.Unlock()
	}
}

// Counts returns the complete video frames and the audio packets that arrived.
func (s *Subscriber) Counts() (frames, audio int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.video.Markers, len(s.audio.Seqs)
}

// Snapshot copies what arrived so far (the payloads themselves are shared, never written).
func (s *Subscriber) Snapshot() (video, audio Track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	video, audio = s.video, s.audio
	video.Seqs = append([]uint16(nil), s.video.Seqs...)
	video.Payloads = append([][]byte(nil), s.video.Payloads...)
	audio.Seqs = append([]uint16(nil), s.audio.Seqs...)
	audio.Payloads = append([][]byte(nil), s.audio.Payloads...)
	return video, audio
}

// SeqNewer reports whether a follows b in 16-bit sequence space (RFC 3550 §A.1).
func SeqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// CheckInOrder reports an error (t.Errorf) unless sequence numbers only move forward (mod
// 2^16): no packet is reordered or repeated. Gaps (losses) are counted and returned.
func CheckInOrder(t testing.TB, what string, seqs []uint16) (gaps int) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if !SeqNewer(seqs[i], seqs[i-1]) {
			t.Errorf("%s: sequence number went back or repeated at packet %d: %d after %d", what, i, seqs[i], seqs[i-1])
			return gaps
		}
		if seqs[i]-seqs[i-1] != 1 {
			gaps++
		}
	}
	return gaps
}
