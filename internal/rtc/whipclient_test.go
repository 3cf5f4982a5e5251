package rtc

import (
	"bytes"
	"errors"
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
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// whipClient speaks WHIP/WHEP over HTTP to the server under test.
type whipClient struct {
	t    testing.TB
	http *http.Client
	base string
}

// whipResp is a response, read whole.
type whipResp struct {
	status int
	body   string
	header http.Header
}

// do sends one request; extra is header name/value pairs.
func (c *whipClient) do(method, path, tok, contentType, body string, extra ...string) whipResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return whipResp{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func (c *whipClient) post(path, tok, offer string) whipResp {
	c.t.Helper()
	return c.do(http.MethodPost, path, tok, "application/sdp", offer)
}

func (c *whipClient) patch(location, tok, frag string, extra ...string) whipResp {
	c.t.Helper()
	return c.do(http.MethodPatch, location, tok, "application/trickle-ice-sdpfrag", frag, extra...)
}

func (c *whipClient) del(location, tok string) whipResp {
	c.t.Helper()
	return c.do(http.MethodDelete, location, tok, "", "")
}

// connect offers with every candidate gathered, POSTs, and applies the answer; it returns
// the session's Location.
func (c *whipClient) connect(pc *webrtc.PeerConnection, path, tok string) string {
	c.t.Helper()
	offer := gatheredOffer(c.t, pc)
	resp := c.post(path, tok, offer)
	if resp.status != http.StatusCreated {
		c.t.Fatalf("POST %s: %d %s", path, resp.status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/sdp" {
		c.t.Fatalf("answer Content-Type %q", ct)
	}
	if resp.header.Get("ETag") == "" {
		c.t.Fatalf("answer has no ETag")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.body}); err != nil {
		c.t.Fatalf("apply answer: %v", err)
	}
	return resp.header.Get("Location")
}

// gatheredOffer makes pc's offer and waits until it holds every candidate.
func gatheredOffer(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// newClientPC is a pion peer as a browser would be: default codecs and interceptors, UDP4
// unless networks says otherwise. It is closed at cleanup.
func newClientPC(t testing.TB, networks ...webrtc.NetworkType) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return newClientPCWith(t, me, networks...)
}

// newVP8ClientPC is a peer that offers only VP8 and Opus, as a browser without H.264 does.
func newVP8ClientPC(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		codec webrtc.RTPCodecParameters
		kind  webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		}}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		}}, webrtc.RTPCodecTypeAudio},
	} {
		if err := me.RegisterCodec(c.codec, c.kind); err != nil {
			t.Fatal(err)
		}
	}
	return newClientPCWith(t, me)
}

func newClientPCWith(t testing.TB, me *webrtc.MediaEngine, networks ...webrtc.NetworkType) *webrtc.PeerConnection {
	t.Helper()
	return newClientPCFirst(t, me, nil, networks...)
}

// newClientPCFirst is newClientPCWith with first, if not nil, as the innermost interceptor:
// the last to see what the peer sends, the first to see what it receives.
func newClientPCFirst(t testing.TB, me *webrtc.MediaEngine, first interceptor.Factory, networks ...webrtc.NetworkType) *webrtc.PeerConnection {
	t.Helper()
	reg := &interceptor.Registry{}
	if first != nil {
		reg.Add(first)
	}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(networks)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.GracefulClose() })
	return pc
}

// connectedState waits for pc to connect.
func waitConnected(t testing.TB, pc *webrtc.PeerConnection) {
	t.Helper()
	eventually(t, 10*time.Second, "client connected", func() bool {
		return pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
}

// h264Frames encodes a test pattern with ffmpeg (libx264 baseline, no B-frames, an IDR every
// gop frames) and returns its access units in Annex B form.
func h264Frames(t testing.TB, seconds, gop int) [][]byte {
	t.Helper()
	return h264FramesAt(t, seconds, gop, "320x240", "")
}

// h264FramesAt is h264Frames at a frame size and, unless "", a bitrate (-b:v, as "2M").
func h264FramesAt(t testing.TB, seconds, gop int, size, bitrate string) [][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "test.h264")
	g := strconv.Itoa(gop)
	args := []string{"-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-pix_fmt", "yuv420p"}
	if bitrate != "" {
		args = append(args, "-b:v", bitrate)
	}
	args = append(args, "-g", g, "-x264-params", "keyint="+g+":min-keyint="+g+":scenecut=0", "-f", "h264", out)
	cmd := exec.Command("ffmpeg", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg): %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return accessUnits(t, f)
}

// accessUnits groups NAL units into access units: parameter sets travel with the slice
// that follows them (one slice per frame, as x264 writes by default).
func accessUnits(t testing.TB, r io.Reader) [][]byte {
	t.Helper()
	rd, err := h264reader.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur []byte
	for {
		nal, err := rd.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			aus = append(aus, cur)
			cur = nil
		}
	}
	if len(aus) == 0 {
		t.Fatal("no access units in the encoded file")
	}
	return aus
}

// vp8Frames encodes a test pattern with ffmpeg (libvpx, a keyframe every gop frames) and
// returns its frames.
func vp8Frames(t testing.TB, seconds, gop int) [][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "test.ivf")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libvpx", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-deadline", "realtime",
		"-f", "ivf", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg): %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		frame, _, err := rd.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, frame)
	}
}

// spsOf returns the SPS NAL unit of an Annex B access unit.
func spsOf(au []byte) []byte {
	for _, nal := range bytes.Split(au, []byte{0, 0, 0, 1}) {
		if len(nal) > 0 && nal[0]&0x1f == nalSPS {
			return nal
		}
	}
	return nil
}

// opusSilence is one 20 ms Opus frame of silence (RFC 6716 TOC 0xf8: CELT fullband 20 ms).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// testPublisher is a pion WHIP publisher: H.264 from a file, looping, and Opus silence. On a
// PLI it restarts at the first access unit (SPS, PPS, IDR), as an encoder sends a keyframe.
type testPublisher struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
	frames   [][]byte
	plis     atomic.Int32
	restart  atomic.Bool
	sent     atomic.Int32 // video frames written
	stop     chan struct{}
	wg       sync.WaitGroup // the send and RTCP loops
}

// h264Baseline is what the test publisher's H.264 track declares.
var h264Baseline = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
}

// startPublisher publishes H.264 frames as participantID from a browser-like peer.
func startPublisher(t testing.TB, h *harness, participantID string, frames [][]byte) *testPublisher {
	t.Helper()
	return startPublisherWith(t, h, newClientPC(t), participantID, h264Baseline, frames)
}

// startPublisherWith publishes frames of the given codec from pc and starts sending.
func startPublisherWith(t testing.TB, h *harness, pc *webrtc.PeerConnection, participantID string,
	codec webrtc.RTPCodecCapability, frames [][]byte,
) *testPublisher {
	t.Helper()
	p := &testPublisher{pc: pc, frames: frames, stop: make(chan struct{}), token: h.token(participantID, true, true)}
	video, err := webrtc.NewTrackLocalStaticSample(codec, "video", participantID)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", participantID)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := p.pc.AddTrack(video)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.pc.AddTrack(audio); err != nil {
		t.Fatal(err)
	}
	p.location = h.whip.connect(p.pc, "/whip/"+h.stageID, p.token)
	p.wg.Go(func() { p.readRTCP(sender) })
	p.wg.Go(func() { p.send(video, audio) })
	t.Cleanup(p.close)
	return p
}

func (p *testPublisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.pc.GracefulClose()
	p.wg.Wait()
}

// readRTCP counts keyframe requests and asks the send loop for a keyframe.
func (p *testPublisher) readRTCP(sender *webrtc.RTPSender) {
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

// send paces video at 30 fps and audio at 50 packets per second.
func (p *testPublisher) send(video, audio *webrtc.TrackLocalStaticSample) {
	vt := time.NewTicker(time.Second / 30)
	at := time.NewTicker(20 * time.Millisecond)
	defer vt.Stop()
	defer at.Stop()
	i := 0
	for {
		select {
		case <-p.stop:
			return
		case <-vt.C:
			if p.restart.Swap(false) {
				i = 0
			}
			_ = video.WriteSample(media.Sample{Data: p.frames[i], Duration: time.Second / 30})
			i = (i + 1) % len(p.frames)
			p.sent.Add(1)
		case <-at.C:
			_ = audio.WriteSample(media.Sample{Data: opusSilence, Duration: 20 * time.Millisecond})
		}
	}
}

// received is what a subscriber got on one track.
type received struct {
	first   []byte    // the first packet's payload
	firstAt time.Time // when it arrived
	seqs    []uint16
	heads   [][2]byte // video: the first two payload bytes of each packet (NAL header, simulcast test tag)
}

// testSubscriber is a pion WHEP-style subscriber that records what arrives.
type testSubscriber struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
	started  time.Time // when the POST was sent

	mu     sync.Mutex // guards video, audio and layers
	video  received
	audio  received
	layers map[byte]bool // second payload byte of video packets (simulcast test tag)

	wg sync.WaitGroup // the track readers
}

// startSubscriber subscribes participantID to target.
func startSubscriber(t testing.TB, h *harness, participantID, target string) *testSubscriber {
	t.Helper()
	s := newTestSubscriber(t, h, newClientPC(t), participantID)
	s.started = time.Now()
	s.location = h.whip.connect(s.pc, "/whip/"+h.stageID+"/subscribe/"+target, s.token)
	return s
}

// newTestSubscriber prepares pc to receive video and audio and record them; nothing is
// posted yet.
func newTestSubscriber(t testing.TB, h *harness, pc *webrtc.PeerConnection, participantID string) *testSubscriber {
	t.Helper()
	s := &testSubscriber{pc: pc, token: h.token(participantID, false, true)}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := s.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.read(tr) })
	})
	t.Cleanup(func() {
		s.pc.GracefulClose()
		s.wg.Wait()
	})
	return s
}

// read records a track's packets until the PeerConnection closes.
func (s *testSubscriber) read(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.mu.Lock()
		r := &s.audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			r = &s.video
		}
		if r.first == nil {
			r.first, r.firstAt = append([]byte{}, pkt.Payload...), time.Now()
		}
		if r == &s.video && len(pkt.Payload) > 1 {
			if s.layers == nil {
				s.layers = map[byte]bool{}
			}
			s.layers[pkt.Payload[1]] = true
			r.heads = append(r.heads, [2]byte{pkt.Payload[0], pkt.Payload[1]})
		}
		r.seqs = append(r.seqs, pkt.SequenceNumber)
		s.mu.Unlock()
	}
}

// counts returns how many video and audio packets arrived.
func (s *testSubscriber) counts() (video, audio int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.video.seqs), len(s.audio.seqs)
}

// snapshot copies what arrived so far.
func (s *testSubscriber) snapshot() (video, audio received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	video, audio = s.video, s.audio
	video.seqs = append([]uint16{}, s.video.seqs...)
	video.heads = append([][2]byte{}, s.video.heads...)
	audio.seqs = append([]uint16{}, s.audio.seqs...)
	return video, audio
}
