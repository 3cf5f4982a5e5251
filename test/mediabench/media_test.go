package mediabench_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// clip is the media the publisher loops: H.264 access units (Annex B, one per frame at 30 fps,
// the first an IDR with SPS and PPS) and Opus packets (20 ms each).
type clip struct {
	video [][]byte
	audio [][]byte
}

// encodeClip makes a clip with ffmpeg into dir: testsrc at size and 30 fps, libx264 baseline
// at 1500 kbit/s, no B-frames, an IDR every 60 frames; a 440 Hz tone in Opus at 48 kbit/s.
// Temporal noise is added to the pattern: plain testsrc is so easy to code that x264 makes
// only about half the target rate (765 kbit/s at 720p); with it the rate is about 1,500.
func encodeClip(tb testing.TB, dir, size string, seconds int) clip {
	tb.Helper()
	video := whiptest.EncodeH264(tb, dir, whiptest.H264{Size: size, Seconds: seconds, GOP: 60,
		Bitrate: "1500k", VBV: true, Preset: "veryfast", Filter: "noise=alls=12:allf=t"})
	return clip{video: video, audio: whiptest.EncodeOpus(tb, dir, seconds)}
}

// bench is one server, one stage and the media clients of one run.
type bench struct {
	tb      testing.TB
	proc    *servertest.Process
	api     *servertest.Client
	stageID string
	arn     string
}

// startBench runs the real binary with its own data dir and creates a stage.
// MEDIABENCH_SERVER_ENV (space-separated KEY=value entries, such as GOMAXPROCS=1) is added
// to the server's environment only, not to the benchmark process's.
func startBench(tb testing.TB) *bench {
	tb.Helper()
	p := servertest.StartBinaryWith(tb, tb.TempDir(), servertest.BinaryOptions{
		Env: strings.Fields(os.Getenv("MEDIABENCH_SERVER_ENV")),
	})
	b := &bench{tb: tb, proc: p, api: p.Client()}
	st := b.createStage(map[string]any{"name": "mediabench"})
	b.arn, b.stageID = st.arn, st.id
	return b
}

// benchStage is a stage of the run.
type benchStage struct{ arn, id string }

// createStage creates a stage with the CreateStage input in.
func (b *bench) createStage(in map[string]any) benchStage {
	b.tb.Helper()
	var out struct {
		Stage struct {
			Arn string `json:"arn"`
		} `json:"stage"`
	}
	if err := b.api.Call(context.Background(), "CreateStage", in, &out); err != nil {
		b.tb.Fatalf("CreateStage: %v", err)
	}
	return benchStage{arn: out.Stage.Arn, id: out.Stage.Arn[strings.LastIndex(out.Stage.Arn, "/")+1:]}
}

// token creates a participant token on the run's first stage through the API.
func (b *bench) token(user string, caps ...string) (participantID, tok string) {
	b.tb.Helper()
	return b.tokenOn(benchStage{arn: b.arn, id: b.stageID}, user, caps...)
}

// tokenOn creates a participant token on st through the API.
func (b *bench) tokenOn(st benchStage, user string, caps ...string) (participantID, tok string) {
	b.tb.Helper()
	var out struct {
		ParticipantToken struct {
			ParticipantID string `json:"participantId"`
			Token         string `json:"token"`
		} `json:"participantToken"`
	}
	in := map[string]any{"stageArn": st.arn, "userId": user, "capabilities": caps}
	if err := b.api.Call(context.Background(), "CreateParticipantToken", in, &out); err != nil {
		b.tb.Fatalf("CreateParticipantToken: %v", err)
	}
	return out.ParticipantToken.ParticipantID, out.ParticipantToken.Token
}

// post sends an SDP offer and applies the answer; it returns the session's URL (Location).
func (b *bench) post(pc *webrtc.PeerConnection, path, tok, offer string) (string, error) {
	u := b.proc.URL + path
	resp, err := whiptest.Request(http.MethodPost, u, tok, "application/sdp", offer)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusCreated {
		return "", fmt.Errorf("POST %s: %d %s", path, resp.Status, resp.Body)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if l, err := url.Parse(u); err == nil {
			if r, err := l.Parse(loc); err == nil {
				u = r.String()
			}
		}
	}
	return u, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.Body})
}

// publisher sends the clip in real time: video at 30 fps (each frame's packets back to back),
// audio every 20 ms. On a PLI or FIR it restarts the clip at its first frame, an IDR, as an
// encoder answers with a keyframe.
type publisher struct {
	pc          *webrtc.PeerConnection
	participant string
	token       string // the participant token
	session     string // the WHIP session's URL (Location), for DELETE
	clip        clip
	sentVideo   atomic.Uint64 // RTP packets written
	sentAudio   atomic.Uint64
	videoBytes  atomic.Uint64 // RTP payload bytes of video
	plis        atomic.Uint64
	nacked      atomic.Uint64 // packets the server asked for again (NACK)
	restart     atomic.Bool
	paused      atomic.Bool // send nothing (measure drains the pipeline)
	stop        chan struct{}
	wg          sync.WaitGroup
}

func (b *bench) startPublisher(c clip) *publisher {
	b.tb.Helper()
	return b.publishOn(benchStage{arn: b.arn, id: b.stageID}, "publisher", c)
}

// publishOn starts a publisher of c on st as user.
func (b *bench) publishOn(st benchStage, user string, c clip) *publisher {
	b.tb.Helper()
	id, tok := b.tokenOn(st, user, "PUBLISH", "SUBSCRIBE")
	pc, err := whiptest.NewPeerConnection(whiptest.PeerOptions{})
	if err != nil {
		b.tb.Fatal(err)
	}
	p := &publisher{pc: pc, participant: id, token: tok, clip: c, stop: make(chan struct{})}
	b.tb.Cleanup(p.close)
	video, err := webrtc.NewTrackLocalStaticRTP(whiptest.H264Baseline, "video", id)
	if err != nil {
		b.tb.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(whiptest.Opus, "audio", id)
	if err != nil {
		b.tb.Fatal(err)
	}
	vs, err := pc.AddTrack(video)
	if err != nil {
		b.tb.Fatal(err)
	}
	as, err := pc.AddTrack(audio)
	if err != nil {
		b.tb.Fatal(err)
	}
	offer, err := whiptest.OfferGathered(pc, 0)
	if err != nil {
		b.tb.Fatal(err)
	}
	if p.session, err = b.post(pc, "/whip/"+st.id, tok, offer); err != nil {
		b.tb.Fatalf("publish: %v", err)
	}
	p.wg.Go(func() { p.readRTCP(vs) })
	p.wg.Go(func() { p.readRTCP(as) })
	p.wg.Go(func() { p.send(video, audio) })
	return p
}

func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.pc.Close()
	p.wg.Wait()
}

// readRTCP turns keyframe requests into a restart of the clip.
func (p *publisher) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.plis.Add(1)
				p.restart.Store(true)
			case *rtcp.TransportLayerNack:
				for _, pair := range pkt.(*rtcp.TransportLayerNack).Nacks {
					p.nacked.Add(uint64(len(pair.PacketList())))
				}
			}
		}
	}
}

// send paces the clip on a fixed schedule; if it falls more than a second behind it starts
// the schedule over rather than bursting.
func (p *publisher) send(video, audio *webrtc.TrackLocalStaticRTP) {
	const frame, opusFrame = time.Second / 30, 20 * time.Millisecond
	vp := rtp.NewPacketizer(1200, 0, 0, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	ap := rtp.NewPacketizer(1200, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	timer := time.NewTimer(0)
	defer timer.Stop()
	nextV, nextA := time.Now(), time.Now()
	vi, ai := 0, 0
	for {
		due := nextV
		if nextA.Before(due) {
			due = nextA
		}
		timer.Reset(time.Until(due))
		select {
		case <-p.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		if p.paused.Load() { // keep the schedule, send nothing
			for !nextV.After(now) {
				nextV = nextV.Add(frame)
			}
			for !nextA.After(now) {
				nextA = nextA.Add(opusFrame)
			}
			continue
		}
		if !nextV.After(now) {
			if p.restart.Swap(false) {
				vi = 0
			}
			for _, pkt := range vp.Packetize(p.clip.video[vi], 3000) {
				if video.WriteRTP(pkt) == nil {
					p.sentVideo.Add(1)
					p.videoBytes.Add(uint64(len(pkt.Payload)))
				}
			}
			vi = (vi + 1) % len(p.clip.video)
			if nextV = nextV.Add(frame); now.Sub(nextV) > time.Second {
				nextV = now
			}
		}
		if !nextA.After(now) {
			for _, pkt := range ap.Packetize(p.clip.audio[ai], 960) {
				if audio.WriteRTP(pkt) == nil {
					p.sentAudio.Add(1)
				}
			}
			ai = (ai + 1) % len(p.clip.audio)
			if nextA = nextA.Add(opusFrame); now.Sub(nextA) > time.Second {
				nextA = now
			}
		}
	}
}

// sent is every RTP packet the publisher has written.
func (p *publisher) sent() uint64 { return p.sentVideo.Load() + p.sentAudio.Load() }

// subscriber receives the publisher's tracks and counts distinct packets per track (a NACKed
// packet repaired by RTX counts once).
type subscriber struct {
	pc      *webrtc.PeerConnection
	started time.Time     // just before the POST
	joined  atomic.Int64  // ns from started to the end of the first complete keyframe; 0 until then
	keyed   chan struct{} // closed when joined is set
	video   trackCount
	audio   trackCount
	wg      sync.WaitGroup
}

// trackCount is owned by one reader goroutine, except the atomics.
type trackCount struct {
	unique atomic.Uint64 // distinct sequence numbers received
	dups   atomic.Uint64
	seen   [1 << 16 / 64]uint64
}

// add records seq; it clears the half of the window opposite seq so the bitmap follows the
// sequence space around (wrap takes minutes at these rates).
func (c *trackCount) add(seq uint16) {
	w, bit := seq/64, uint64(1)<<(seq%64)
	if c.seen[w]&bit != 0 {
		c.dups.Add(1)
		return
	}
	c.seen[w] |= bit
	c.seen[(w+512)%1024] = 0
	c.unique.Add(1)
}

// subscribe creates a token and a subscriber, and joins it to the publisher.
func (b *bench) subscribe(pub *publisher, n int) (*subscriber, error) {
	_, tok := b.token("sub-"+strconv.Itoa(n), "SUBSCRIBE")
	pc, err := whiptest.NewPeerConnection(whiptest.PeerOptions{})
	if err != nil {
		return nil, err
	}
	s := &subscriber{pc: pc, keyed: make(chan struct{})}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.read(tr) })
	})
	offer, err := whiptest.OfferGathered(pc, 0)
	if err != nil {
		pc.Close()
		return nil, err
	}
	s.started = time.Now()
	if _, err := b.post(pc, "/whip/"+b.stageID+"/subscribe/"+pub.participant, tok, offer); err != nil {
		pc.Close()
		return nil, err
	}
	return s, nil
}

func (s *subscriber) close() {
	s.pc.Close()
	s.wg.Wait()
}

// read counts a track's packets until the PeerConnection closes; on video it notes when the
// first keyframe has arrived whole (its first packet through the marker, no gap).
func (s *subscriber) read(tr *webrtc.TrackRemote) {
	c := &s.audio
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		c = &s.video
	}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	inKey, next := false, uint16(0)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		c.add(pkt.SequenceNumber)
		if !video || s.joined.Load() != 0 {
			continue
		}
		switch {
		case whiptest.IsH264Keyframe(pkt.Payload):
			inKey = true
		case inKey && pkt.SequenceNumber != next:
			inKey = false // a gap: wait for the next keyframe
		}
		next = pkt.SequenceNumber + 1
		if inKey && pkt.Marker {
			s.joined.Store(max(int64(time.Since(s.started)), 1))
			close(s.keyed)
		}
	}
}

// received is the distinct packets this subscriber has received on both tracks.
func (s *subscriber) received() uint64 { return s.video.unique.Load() + s.audio.unique.Load() }
