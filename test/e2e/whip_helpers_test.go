package e2e_test

// Media helpers for the end-to-end tests: real pion WHIP publishers and WHEP-style
// subscribers talking to an in-process server, H.264 made by ffmpeg at test time, and
// depacketized video checked by ffmpeg's decoder. Adapted from internal/rtc's test helpers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"

	"github.com/footlight/footlight/internal/servertest"
)

// tokenConfig is one participantTokenConfiguration of CreateStage.
type tokenConfig struct {
	user string
	caps []string // nil: the default (PUBLISH and SUBSCRIBE)
}

// createStage creates a stage with one token per config, in order.
func createStage(t *testing.T, c *servertest.Client, cfgs ...tokenConfig) (stageOut, []tokenOut) {
	t.Helper()
	list := []any{}
	for _, cfg := range cfgs {
		m := map[string]any{"userId": cfg.user}
		if cfg.caps != nil {
			m["capabilities"] = cfg.caps
		}
		list = append(list, m)
	}
	var out struct {
		Stage             stageOut   `json:"stage"`
		ParticipantTokens []tokenOut `json:"participantTokens"`
	}
	if err := c.Call(context.Background(), "CreateStage", map[string]any{"name": "e2e-media", "participantTokenConfigurations": list}, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if len(out.ParticipantTokens) != len(cfgs) {
		t.Fatalf("CreateStage returned %d tokens for %d configurations", len(out.ParticipantTokens), len(cfgs))
	}
	return out.Stage, out.ParticipantTokens
}

// createToken makes one more participant token with CreateParticipantToken.
func createToken(t *testing.T, c *servertest.Client, stageArn string, cfg tokenConfig) tokenOut {
	t.Helper()
	in := map[string]any{"stageArn": stageArn, "userId": cfg.user}
	if cfg.caps != nil {
		in["capabilities"] = cfg.caps
	}
	var out struct {
		ParticipantToken tokenOut `json:"participantToken"`
	}
	if err := c.Call(context.Background(), "CreateParticipantToken", in, &out); err != nil {
		t.Fatalf("CreateParticipantToken: %v", err)
	}
	return out.ParticipantToken
}

// activeSession returns the stage's running session id, failing if it has none.
func activeSession(t *testing.T, c *servertest.Client, stageArn string) string {
	t.Helper()
	var got struct{ Stage stageOut }
	if err := c.Call(context.Background(), "GetStage", map[string]string{"arn": stageArn}, &got); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if got.Stage.ActiveSessionID == "" {
		t.Fatalf("stage %s has no active session", stageArn)
	}
	return got.Stage.ActiveSessionID
}

// participantEvent is one event of ListParticipantEvents.
type participantEvent struct {
	Name                string  `json:"name"`
	ParticipantID       string  `json:"participantId"`
	RemoteParticipantID *string `json:"remoteParticipantId"`
	ErrorCode           *string `json:"errorCode"`
}

func (e participantEvent) String() string {
	s := e.Name
	if e.RemoteParticipantID != nil {
		s += " remote=" + *e.RemoteParticipantID
	}
	if e.ErrorCode != nil {
		s += " code=" + *e.ErrorCode
	}
	return s
}

// participantEvents lists a participant's events of a session (the API pages at 50; the
// tests' participants have fewer).
func participantEvents(t *testing.T, c *servertest.Client, stageArn, session, participantID string) []participantEvent {
	t.Helper()
	var out struct {
		Events []participantEvent `json:"events"`
	}
	in := map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": participantID}
	if err := c.Call(context.Background(), "ListParticipantEvents", in, &out); err != nil {
		t.Fatalf("ListParticipantEvents(%s): %v", participantID, err)
	}
	return out.Events
}

// waitEvent polls a participant's events until one has this name, remote participant (""
// for any) and error code ("" for none expected). Events are persisted off the request's
// path, so the API may lag the media endpoint's answer.
func waitEvent(t *testing.T, c *servertest.Client, stageArn, session, participantID, name, remote, code string) {
	t.Helper()
	var last []participantEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		last = participantEvents(t, c, stageArn, session, participantID)
		for _, e := range last {
			if e.Name != name || e.ParticipantID != participantID {
				continue
			}
			if remote != "" && (e.RemoteParticipantID == nil || *e.RemoteParticipantID != remote) {
				continue
			}
			if code == "" && e.ErrorCode == nil || e.ErrorCode != nil && *e.ErrorCode == code {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("participant %s: no %s event (remote %q, errorCode %q) within 10 s; events: %v", participantID, name, remote, code, last)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// whipResp is a media endpoint's response, read whole.
type whipResp struct {
	status int
	body   string
	header http.Header
}

var whipHTTP = &http.Client{Timeout: 30 * time.Second}

// whipDo sends one request to a media endpoint; extra is header name/value pairs.
func whipDo(t testing.TB, method, u, tok, contentType, body string, extra ...string) whipResp {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
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
	resp, err := whipHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return whipResp{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// postOffer POSTs an SDP offer.
func postOffer(t testing.TB, u, tok, offer string) whipResp {
	t.Helper()
	return whipDo(t, http.MethodPost, u, tok, "application/sdp", offer)
}

// resolve makes a Location (an absolute path) absolute against the WHIP URL it came from.
func resolve(t testing.TB, base, loc string) string {
	t.Helper()
	if loc == "" {
		t.Fatalf("no Location")
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(l).String()
}

// connect offers with every candidate gathered, POSTs to u and applies the answer; it
// returns the absolute Location and when the POST returned.
func connect(t testing.TB, pc *webrtc.PeerConnection, u, tok string) (string, time.Time) {
	t.Helper()
	offer := gatheredOffer(t, pc)
	resp := postOffer(t, u, tok, offer)
	returned := time.Now()
	if resp.status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", u, resp.status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.body}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	return resolve(t, u, resp.header.Get("Location")), returned
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

// newClientPC is a pion peer as a browser would be: default codecs and interceptors, UDP4,
// loopback candidates. tune may adjust its settings. It is closed at cleanup.
func newClientPC(t testing.TB, tune ...func(*webrtc.SettingEngine)) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	for _, f := range tune {
		f(&se)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.GracefulClose() })
	return pc
}

// waitConnected waits for pc to connect.
func waitConnected(t testing.TB, pc *webrtc.PeerConnection, who string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not connected within 15 s (state %s)", who, pc.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// poll fails t unless cond holds within d.
func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

var (
	ffmpegMu    sync.Mutex
	ffmpegCache = map[string][][]byte{}
)

// h264Frames encodes a test pattern with ffmpeg (libx264 constrained baseline, no B-frames,
// an IDR every gop frames) and returns its access units in Annex B form. Encodings are
// cached per process.
func h264Frames(t testing.TB, seconds, gop int) [][]byte {
	t.Helper()
	key := fmt.Sprintf("%d/%d", seconds, gop)
	ffmpegMu.Lock()
	defer ffmpegMu.Unlock()
	if aus, ok := ffmpegCache[key]; ok {
		return aus
	}
	dir, err := os.MkdirTemp("", "footlight-e2e-h264-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "test.h264")
	g := strconv.Itoa(gop)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-pix_fmt", "yuv420p",
		"-g", g, "-x264-params", "keyint="+g+":min-keyint="+g+":scenecut=0",
		"-f", "h264", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg): %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	aus := accessUnits(t, f)
	ffmpegCache[key] = aus
	return aus
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

// nalTypes lists the NAL unit types of an Annex B buffer (4-byte start codes, as pion's
// depacketizer and accessUnits write them).
func nalTypes(annexB []byte) []byte {
	var out []byte
	for _, nal := range bytes.Split(annexB, []byte{0, 0, 0, 1}) {
		if len(nal) > 0 {
			out = append(out, nal[0]&0x1f)
		}
	}
	return out
}

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packetization types (RFC 6184).
const (
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8
	nalSTAPA = 24
	nalFUA   = 28
)

// isH264Keyframe reports whether an RTP payload starts a keyframe: an SPS or IDR alone, in
// a STAP-A, or as the first fragment of an FU-A.
func isH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	key := func(t byte) bool { return t == nalIDR || t == nalSPS }
	switch p[0] & 0x1f {
	case nalIDR, nalSPS:
		return true
	case nalSTAPA:
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if key(p[i] & 0x1f) {
				return true
			}
			i += size
		}
	case nalFUA:
		return len(p) > 1 && p[1]&0x80 != 0 && key(p[1]&0x1f)
	}
	return false
}

// opusSilence is one 20 ms Opus frame of silence (RFC 6716 TOC 0xf8: CELT fullband 20 ms).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// h264Baseline is what the test publisher's H.264 track declares.
var h264Baseline = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
}

// publisher is a pion WHIP publisher: H.264 access units, looping, and Opus silence. On a
// PLI or FIR it goes back to its latest IDR access unit (SPS, PPS, IDR) and continues from
// there, as an encoder answers with a keyframe.
type publisher struct {
	id       string // participant id
	token    string
	pc       *webrtc.PeerConnection
	location string // absolute
	frames   [][]byte
	idrs     []int // indices of frames that are IDR access units
	video    *webrtc.TrackLocalStaticSample
	audio    *webrtc.TrackLocalStaticSample
	sender   *webrtc.RTPSender

	plis    atomic.Int32
	restart atomic.Bool
	sent    atomic.Int32 // video frames written
	stop    chan struct{}
	wg      sync.WaitGroup // the send and RTCP loops
}

// newPublisher makes a peer with one H.264 and one Opus track; nothing is sent yet.
func newPublisher(t testing.TB, pc *webrtc.PeerConnection, id, tok string, frames [][]byte) *publisher {
	t.Helper()
	p := &publisher{id: id, token: tok, pc: pc, frames: frames, stop: make(chan struct{})}
	for i, au := range frames {
		if bytes.Contains(nalTypes(au), []byte{nalIDR}) {
			p.idrs = append(p.idrs, i)
		}
	}
	if len(p.idrs) == 0 || p.idrs[0] != 0 {
		t.Fatalf("the encoded stream does not start with an IDR access unit")
	}
	var err error
	if p.video, err = webrtc.NewTrackLocalStaticSample(h264Baseline, "video", id); err != nil {
		t.Fatal(err)
	}
	if p.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", id); err != nil {
		t.Fatal(err)
	}
	if p.sender, err = pc.AddTrack(p.video); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(p.audio); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// startPublisher publishes as participant id to the stage's WHIP URL and starts sending.
func startPublisher(t testing.TB, whip, id, tok string, frames [][]byte, tune ...func(*webrtc.SettingEngine)) *publisher {
	t.Helper()
	p := newPublisher(t, newClientPC(t, tune...), id, tok, frames)
	p.location, _ = connect(t, p.pc, whip, tok)
	p.run()
	return p
}

// run starts the send and RTCP loops.
func (p *publisher) run() {
	p.wg.Go(p.readRTCP)
	p.wg.Go(p.send)
}

func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.pc.GracefulClose()
	p.wg.Wait()
}

// readRTCP counts keyframe requests and asks the send loop for a keyframe.
func (p *publisher) readRTCP() {
	for {
		pkts, _, err := p.sender.ReadRTCP()
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
func (p *publisher) send() {
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
				i = p.latestIDR(i)
			}
			_ = p.video.WriteSample(media.Sample{Data: p.frames[i], Duration: time.Second / 30})
			i = (i + 1) % len(p.frames)
			p.sent.Add(1)
		case <-at.C:
			_ = p.audio.WriteSample(media.Sample{Data: opusSilence, Duration: 20 * time.Millisecond})
		}
	}
}

// latestIDR is the index of the last IDR access unit before frame next.
func (p *publisher) latestIDR(next int) int {
	last := p.idrs[0]
	for _, i := range p.idrs {
		if i < next {
			last = i
		}
	}
	return last
}

// trackLog is what a subscriber got on one track.
type trackLog struct {
	streamID string
	seqs     []uint16
	payloads [][]byte // video only
	markers  int      // packets with the marker bit: for video, complete frames
	// firstFrameEnd is the number of packets up to and including the first with the
	// marker bit: the first frame's.
	firstFrameEnd int
	firstFrameAt  time.Time // when the first frame's last packet arrived
	firstAt       time.Time
	lastAt        time.Time
}

// subscriber is one WHEP-style subscription PeerConnection watching one publisher.
type subscriber struct {
	target   string // the publisher's participant id
	token    string
	pc       *webrtc.PeerConnection
	location string    // absolute
	posted   time.Time // when the POST returned

	mu    sync.Mutex // guards video and audio
	video trackLog
	audio trackLog

	wg sync.WaitGroup // the track readers
}

// newSubscriberPC makes a recvonly video+audio peer that records what arrives.
func newSubscriber(t testing.TB, pc *webrtc.PeerConnection, target, tok string) *subscriber {
	t.Helper()
	s := &subscriber{target: target, token: tok, pc: pc}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.read(tr) })
	})
	t.Cleanup(func() {
		pc.GracefulClose()
		s.wg.Wait()
	})
	return s
}

// startSubscriber subscribes with tok to target through POST <whip>/subscribe/<target>.
func startSubscriber(t testing.TB, whip, target, tok string, tune ...func(*webrtc.SettingEngine)) *subscriber {
	t.Helper()
	s := newSubscriber(t, newClientPC(t, tune...), target, tok)
	s.location, s.posted = connect(t, s.pc, whip+"/subscribe/"+target, tok)
	return s
}

// read records a track's packets until the PeerConnection closes.
func (s *subscriber) read(tr *webrtc.TrackRemote) {
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
			l.payloads = append(l.payloads, append([]byte(nil), pkt.Payload...))
		}
		if l.firstAt.IsZero() {
			l.firstAt, l.streamID = now, tr.StreamID()
		}
		l.lastAt = now
		l.seqs = append(l.seqs, pkt.SequenceNumber)
		if pkt.Marker {
			if l.markers == 0 {
				l.firstFrameEnd, l.firstFrameAt = len(l.seqs), now
			}
			l.markers++
		}
		s.mu.Unlock()
	}
}

// counts returns the complete video frames and the audio packets that arrived.
func (s *subscriber) counts() (frames, audio int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.video.markers, len(s.audio.seqs)
}

// snapshot copies what arrived so far.
func (s *subscriber) snapshot() (video, audio trackLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	video, audio = s.video, s.audio
	video.seqs = append([]uint16(nil), s.video.seqs...)
	video.payloads = append([][]byte(nil), s.video.payloads...)
	audio.seqs = append([]uint16(nil), s.audio.seqs...)
	return video, audio
}

// seqNewer reports whether a follows b in 16-bit sequence space (RFC 3550 §A.1).
func seqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// checkInOrder fails unless sequence numbers only move forward (mod 2^16): no packet is
// reordered or repeated. Gaps (losses) are counted and returned.
func checkInOrder(t testing.TB, what string, seqs []uint16) (gaps int) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if !seqNewer(seqs[i], seqs[i-1]) {
			t.Errorf("%s: sequence number went back or repeated at packet %d: %d after %d", what, i, seqs[i], seqs[i-1])
			return gaps
		}
		if seqs[i]-seqs[i-1] != 1 {
			gaps++
		}
	}
	return gaps
}

// depacketize turns H.264 RTP payloads (RFC 6184) into an Annex B stream with pion's
// depacketizer; frames is the number of access units it holds (one slice per frame).
func depacketize(t testing.TB, payloads [][]byte) (annexB []byte) {
	t.Helper()
	var d codecs.H264Packet
	for i, p := range payloads {
		b, err := d.Unmarshal(p)
		if err != nil {
			t.Fatalf("depacketize packet %d: %v", i, err)
		}
		annexB = append(annexB, b...)
	}
	return annexB
}

// decodeH264 writes an Annex B stream to a file and decodes it with ffmpeg, failing on any
// decoder error; it returns the number of frames decoded.
func decodeH264(t testing.TB, name string, annexB []byte) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".h264")
	if err := os.WriteFile(path, annexB, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "h264", "-i", path, "-f", "framecrc", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: ffmpeg could not decode the received video: %v\n%s", name, err, stderr.String())
		return 0
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("%s: ffmpeg reported decoding errors:\n%s", name, s)
	}
	frames := 0
	for _, line := range strings.Split(stdout.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			frames++
		}
	}
	return frames
}

// withoutCandidates strips candidate lines from an SDP.
func withoutCandidates(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// sdpFragOf collects pc's candidates until gathering ends and writes them as a
// trickle-ice-sdpfrag (RFC 8840 §9) for the first m-line.
func sdpFragOf(t testing.TB, pc *webrtc.PeerConnection, cands <-chan *webrtc.ICECandidate) string {
	t.Helper()
	sd := &sdp.SessionDescription{}
	if err := sd.UnmarshalString(pc.LocalDescription().SDP); err != nil {
		t.Fatal(err)
	}
	md := sd.MediaDescriptions[0]
	ufrag, _ := md.Attribute("ice-ufrag")
	pwd, _ := md.Attribute("ice-pwd")
	mid, _ := md.Attribute("mid")
	var b strings.Builder
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=%s 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:%s\r\n", ufrag, pwd, md.MediaName.Media, mid)
	n := 0
	timeout := time.After(15 * time.Second)
	for {
		select {
		case c := <-cands:
			if c == nil {
				if n == 0 {
					t.Fatal("the client gathered no candidate")
				}
				b.WriteString("a=end-of-candidates\r\n")
				return b.String()
			}
			fmt.Fprintf(&b, "a=%s\r\n", c.ToJSON().Candidate)
			n++
		case <-timeout:
			t.Fatal("candidate gathering did not end within 15 s")
		}
	}
}
