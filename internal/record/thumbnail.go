package record

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os/exec"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"golang.org/x/image/vp8"
)

// thumbJob is one keyframe to turn into a thumbnail.
type thumbJob struct {
	codec Codec
	frame []byte // H.264 as Annex B with its parameter sets; a VP8 frame
}

// thumbnailNice is ffmpeg's nice value (19 the lowest priority). One run is about 0.1 s of
// CPU, mostly its start; at the server's priority, two dozen recordings' runs delayed the
// media plane's UDP reads until the socket overflowed (docs/BENCHMARKS.md, "Participant
// recording"). A thumbnail can wait; a packet cannot.
const thumbnailNice = 10

// thumbnailTimeout bounds one ffmpeg run: a keyframe decodes in milliseconds.
const thumbnailTimeout = 20 * time.Second

// jpegOf decodes a keyframe and encodes it as a JPEG of the video's size. H.264 goes through
// Debian's ffmpeg (no pure-Go H.264 decoder exists); VP8 keyframes decode in pure Go.
func jpegOf(ctx context.Context, ffmpeg string, j thumbJob) ([]byte, error) {
	if j.codec == VP8 {
		return vp8JPEG(j.frame)
	}
	ctx, cancel := context.WithTimeout(ctx, thumbnailTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "h264", "-i", "pipe:0", "-frames:v", "1", "-q:v", "3", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1")
	cmd.Stdin = bytes.NewReader(j.frame)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Start()
	if err == nil {
		// Best effort. The pid cannot be reused before Wait reaps it.
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, thumbnailNice)
		err = cmd.Wait()
	}
	if err != nil {
		return nil, fmt.Errorf("ffmpeg thumbnail: %w: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("ffmpeg thumbnail: no picture: %s", bytes.TrimSpace(errOut.Bytes()))
	}
	return out.Bytes(), nil
}

func vp8JPEG(frame []byte) ([]byte, error) {
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	if _, err := d.DecodeFrameHeader(); err != nil {
		return nil, fmt.Errorf("vp8 thumbnail: %w", err)
	}
	img, err := d.DecodeFrame()
	if err != nil {
		return nil, fmt.Errorf("vp8 thumbnail: %w", err)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("vp8 thumbnail: %w", err)
	}
	return out.Bytes(), nil
}

// h264Keyframe renders an access unit as Annex B, with the parameter sets first when the
// access unit does not carry them (ffmpeg cannot decode an IDR without them).
func h264Keyframe(au [][]byte, p params) []byte {
	hasSPS := false
	for _, n := range au {
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			hasSPS = true
		}
	}
	nalus := au
	if !hasSPS && p.sps != nil && p.pps != nil {
		nalus = append([][]byte{p.sps, p.pps}, au...)
	}
	b, _ := h264.AnnexB(nalus).Marshal()
	return b
}
