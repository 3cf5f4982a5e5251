package whiptest

// Test media: H.264 and Opus encoded by ffmpeg at test time, H.264 RTP payloads inspected,
// depacketized and decoded.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// H264 describes a test video: ffmpeg's testsrc pattern at 30 fps encoded by libx264,
// baseline profile, no B-frames, yuv420p, an IDR every GOP frames and no other (scenecut off).
type H264 struct {
	Size    string // frame size, as "320x240"
	Seconds int
	GOP     int    // frames from one IDR to the next
	Bitrate string // -b:v, as "2M"; "" leaves x264's default rate control
	VBV     bool   // also cap the rate: -maxrate and -bufsize at Bitrate
	Preset  string // x264 preset; "" for its default
	Filter  string // a video filter (-vf) applied to the pattern; "" for none
}

// FFmpeg runs ffmpeg with args (after -hide_banner -loglevel error -y), failing t if it fails.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg): %v\n%s", err, out)
	}
}

// EncodeH264 encodes v with ffmpeg into dir/video.h264 and returns its access units in
// Annex B form (see AccessUnits).
func EncodeH264(t testing.TB, dir string, v H264) [][]byte {
	t.Helper()
	out := filepath.Join(dir, "video.h264")
	g := strconv.Itoa(v.GOP)
	args := []string{"-f", "lavfi", "-i", "testsrc=size=" + v.Size + ":rate=30", "-t", strconv.Itoa(v.Seconds)}
	if v.Filter != "" {
		args = append(args, "-vf", v.Filter)
	}
	args = append(args, "-c:v", "libx264", "-profile:v", "baseline")
	if v.Preset != "" {
		args = append(args, "-preset", v.Preset)
	}
	args = append(args, "-pix_fmt", "yuv420p")
	if v.Bitrate != "" {
		args = append(args, "-b:v", v.Bitrate)
		if v.VBV {
			args = append(args, "-maxrate", v.Bitrate, "-bufsize", v.Bitrate)
		}
	}
	args = append(args, "-bf", "0", "-g", g, "-x264-params", "keyint="+g+":min-keyint="+g+":scenecut=0", "-f", "h264", out)
	FFmpeg(t, args...)
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("open the encoded video: %v", err)
	}
	defer f.Close()
	return AccessUnits(t, f)
}

// EncodeOpus encodes a 440 Hz tone of the given length with ffmpeg into dir/audio.ogg (Opus at
// 48 kbit/s, 20 ms frames, one packet per page) and returns its packets.
func EncodeOpus(t testing.TB, dir string, seconds int) [][]byte {
	t.Helper()
	return EncodeOpusTone(t, dir, seconds, 440)
}

// EncodeOpusTone is EncodeOpus with a tone of another frequency (Hz), so that several
// publishers send different packets.
func EncodeOpusTone(t testing.TB, dir string, seconds, hz int) [][]byte {
	t.Helper()
	out := filepath.Join(dir, "audio.ogg")
	FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency="+strconv.Itoa(hz)+":sample_rate=48000", "-t", strconv.Itoa(seconds),
		"-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", out)
	return OpusPackets(t, out)
}

// AccessUnits groups an Annex B stream's NAL units into access units: parameter sets travel
// with the slice that follows them (one slice per frame, as x264 writes by default).
func AccessUnits(t testing.TB, r io.Reader) [][]byte {
	t.Helper()
	rd, err := h264reader.NewReader(r)
	if err != nil {
		t.Fatalf("read H.264: %v", err)
	}
	var aus [][]byte
	var cur []byte
	for {
		nal, err := rd.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read H.264: %v", err)
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			aus = append(aus, cur)
			cur = nil
		}
	}
	if len(aus) == 0 {
		t.Fatalf("no access units in the encoded video")
	}
	return aus
}

// OpusPackets reads an Ogg Opus file written with one packet per page.
func OpusPackets(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open the encoded audio: %v", err)
	}
	defer f.Close()
	rd, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatalf("read Ogg: %v", err)
	}
	var out [][]byte
	for {
		page, _, err := rd.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read Ogg: %v", err)
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) || len(page) == 0 {
			continue
		}
		out = append(out, page)
	}
	if len(out) == 0 {
		t.Fatalf("no Opus packets in the encoded audio")
	}
	return out
}

// OpusSilence is one 20 ms Opus frame of silence (RFC 6716 TOC 0xf8: CELT fullband 20 ms).
var OpusSilence = []byte{0xf8, 0xff, 0xfe}

// H264Baseline is what the test publisher's H.264 track declares.
var H264Baseline = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
}

// Opus is what the test publisher's Opus track declares.
var Opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packetization types (RFC 6184).
const (
	NALIDR   = 5
	NALSPS   = 7
	NALPPS   = 8
	NALSTAPA = 24
	NALFUA   = 28
)

// NALTypes lists the NAL unit types of an Annex B buffer (4-byte start codes, as pion's
// depacketizer and AccessUnits write them).
func NALTypes(annexB []byte) []byte {
	var out []byte
	for _, nal := range bytes.Split(annexB, []byte{0, 0, 0, 1}) {
		if len(nal) > 0 {
			out = append(out, nal[0]&0x1f)
		}
	}
	return out
}

// IsH264Keyframe reports whether an RTP payload (RFC 6184) starts an H.264 keyframe: an IDR
// or SPS NAL unit alone, inside a STAP-A, or as the first fragment of an FU-A.
func IsH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	key := func(t byte) bool { return t == NALIDR || t == NALSPS }
	switch p[0] & 0x1f {
	case NALIDR, NALSPS:
		return true
	case NALSTAPA: // one header byte, then (16-bit size, NAL unit)...
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
	case NALFUA: // the FU header's S bit marks the first fragment
		return len(p) > 1 && p[1]&0x80 != 0 && key(p[1]&0x1f)
	}
	return false
}

// Depacketize turns H.264 RTP payloads (RFC 6184) into an Annex B stream with pion's
// depacketizer.
func Depacketize(t testing.TB, payloads [][]byte) (annexB []byte) {
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

// DecodeH264 writes an Annex B stream to a file and decodes it with ffmpeg, reporting an
// error (t.Errorf) on any decoder error; it returns the number of frames decoded.
func DecodeH264(t testing.TB, name string, annexB []byte) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".h264")
	if err := os.WriteFile(path, annexB, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
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
