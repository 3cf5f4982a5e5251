package mediabench_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/footlight/footlight/internal/servertest"
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
	h264 := filepath.Join(dir, "video.h264")
	ogg := filepath.Join(dir, "audio.ogg")
	secs := strconv.Itoa(seconds)
	run := func(args ...string) {
		cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("ffmpeg (Debian package ffmpeg): %v\n%s", err, out)
		}
	}
	run("-f", "lavfi", "-i", "testsrc=size="+size+":rate=30", "-t", secs,
		"-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-b:v", "1500k", "-maxrate", "1500k", "-bufsize", "1500k", "-bf", "0", "-g", "60",
		"-x264-params", "keyint=60:min-keyint=60:scenecut=0", "-f", "h264", h264)
	run("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", secs,
		"-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", ogg)
	return clip{video: accessUnits(tb, h264), audio: opusPackets(tb, ogg)}
}

// accessUnits splits an Annex B file into access units: parameter sets travel with the slice
// that follows them (x264 writes one slice per frame).
func accessUnits(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd, err := h264reader.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var aus [][]byte
	var cur []byte
	for {
		nal, err := rd.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			aus = append(aus, cur)
			cur = nil
		}
	}
	if len(aus) == 0 {
		tb.Fatal("no access units in the encoded video")
	}
	return aus
}

// opusPackets reads an Ogg Opus file written with one packet per page.
func opusPackets(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd, _, err := oggreader.NewWith(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for {
		page, _, err := rd.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) || len(page) == 0 {
			continue
		}
		out = append(out, page)
	}
	if len(out) == 0 {
		tb.Fatal("no Opus packets in the encoded audio")
	}
	return out
}

// bench is one server, one stage and the media clients of one run.
type bench struct {
	tb      testing.TB
	proc    *servertest.Process
	api     *servertest.Client
	stageID string
	arn     string
	http    *http.Client
}

// startBench runs the real binary with its own data dir and creates a stage.
func startBench(tb testing.TB) *bench {
	tb.Helper()
	p := servertest.StartBinary(tb, tb.TempDir())
	b := &bench{tb: tb, proc: p, api: p.Client(), http: &http.Client{Timeout: 30 * time.Second}}
	var out struct {
		Stage struct {
			Arn string `json:"arn"`
		} `json:"stage"`
	}
	if err := b.api.Call(context.Background(), "CreateStage", map[string]any{"name": "mediabench"}, &out); err != nil {
		tb.Fatalf("CreateStage: %v", err)
	}
	b.arn = out.Stage.Arn
	b.stageID = b.arn[strings.LastIndex(b.arn, "/")+1:]
	return b
}

// token creates a participant token through the API.
func (b *bench) token(user string, caps ...string) (participantID, tok string) {
	b.tb.Helper()
	var out struct {
		ParticipantToken struct {
			ParticipantID string `json:"participantId"`
			Token         string `json:"token"`
		} `json:"participantToken"`
	}
	in := map[string]any{"stageArn": b.arn, "userId": user, "capabilities": caps}
	if err := b.api.Call(context.Background(), "CreateParticipantToken", in, &out); err != nil {
		b.tb.Fatalf("CreateParticipantToken: %v", err)
	}
	return out.ParticipantToken.ParticipantID, out.ParticipantToken.Token
}

// post sends an SDP offer and applies the answer.
func (b *bench) post(pc *webrtc.PeerConnection, path, tok, offer string) error {
	req, err := http.NewRequest(http.MethodPost, b.proc.URL+path, strings.NewReader(offer))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, body)
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)})
}

// newPC is a pion peer as a browser would be: default codecs and interceptors (NACK, RTCP
// reports, TWCC), UDP4 with loopback candidates.
func newPC() (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// gatheredOffer makes pc's offer and waits until it holds every candidate.
func gatheredOffer(pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// publisher sends the clip in real time: video at 30 fps (each frame's packets back to back),
// audio every 20 ms. On a PLI or FIR it restarts the clip at its first frame, an IDR, as an
// encoder answers with a keyframe.
type publisher struct {
	pc          *webrtc.PeerConnection
	participant string
	clip        clip
	sentVideo   atomic.Uint64 // RTP packets written
	sentAudio   atomic.Uint64
	videoBytes  atomic.Uint64 // RTP payload bytes of video
	plis        atomic.Uint64
	restart     atomic.Bool
	paused      atomic.Bool // send nothing (measure drains the pipeline)
	stop        chan struct{}
	wg          sync.WaitGroup
}

func (b *bench) startPublisher(c clip) *publisher {
	b.tb.Helper()
	id, tok := b.token("publisher", "PUBLISH", "SUBSCRIBE")
	pc, err := newPC()
	if err != nil {
		b.tb.Fatal(err)
	}
	p := &publisher{pc: pc, participant: id, clip: c, stop: make(chan struct{})}
	b.tb.Cleanup(p.close)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", id)
	if err != nil {
		b.tb.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", id)
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
	offer, err := gatheredOffer(pc)
	if err != nil {
		b.tb.Fatal(err)
	}
	if err := b.post(pc, "/whip/"+b.stageID, tok, offer); err != nil {
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
	pc, err := newPC()
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
	offer, err := gatheredOffer(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	s.started = time.Now()
	if err := b.post(pc, "/whip/"+b.stageID+"/subscribe/"+pub.participant, tok, offer); err != nil {
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
		case isKeyStart(pkt.Payload):
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

// isKeyStart reports whether an H.264 RTP payload (RFC 6184) starts an IDR access unit: SPS
// or an IDR slice, alone, in a STAP-A, or as the first fragment of an FU-A.
func isKeyStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit size, NAL unit, repeated
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 >= len(p) || size == 0 {
				return false
			}
			if nt := p[i+2] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// received is the distinct packets this subscriber has received on both tracks.
func (s *subscriber) received() uint64 { return s.video.unique.Load() + s.audio.unique.Load() }
