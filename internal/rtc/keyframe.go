package rtc

// A subscriber can only start decoding video at a keyframe, so a new downtrack forwards
// nothing until a packet that starts one. These detectors look at one RTP payload.

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packetization types (RFC 6184 §5.2).
const (
	nalIDR   = 5  // coded slice of an IDR picture
	nalSPS   = 7  // sequence parameter set: sent right before each IDR by WebRTC encoders
	nalSTAPA = 24 // single-time aggregation packet
	nalFUA   = 28 // fragmentation unit
)

// isH264Keyframe reports whether an H.264 payload (RFC 6184) starts a keyframe: an SPS or IDR
// NAL unit on its own, inside a STAP-A, or as the first fragment of an FU-A.
func isH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] & 0x1f {
	case nalIDR, nalSPS:
		return true
	case nalSTAPA:
		return stapAHasKeyframe(p)
	case nalFUA:
		// RFC 6184 §5.8: the FU header is S|E|R|Type; S marks the first fragment.
		return len(p) > 1 && p[1]&0x80 != 0 && isKeyNAL(p[1]&0x1f)
	}
	return false
}

func isKeyNAL(t byte) bool { return t == nalIDR || t == nalSPS }

// stapAHasKeyframe walks a STAP-A (RFC 6184 §5.7.1): a one-byte header, then units of a
// 16-bit size and the NAL unit.
func stapAHasKeyframe(p []byte) bool {
	for i := 1; i+2 < len(p); {
		size := int(p[i])<<8 | int(p[i+1])
		i += 2
		if size == 0 || i+size > len(p) {
			return false
		}
		if isKeyNAL(p[i] & 0x1f) {
			return true
		}
		i += size
	}
	return false
}

// isVP8Keyframe reports whether a VP8 payload (RFC 7741) starts a keyframe: the first
// partition's start (S=1, PID=0) whose frame header has P=0 (RFC 6386 §9.1).
func isVP8Keyframe(p []byte) bool {
	if len(p) == 0 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte I|L|T|K follows (RFC 7741 §4.2)
		if len(p) < 3 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: PictureID, 7 or 15 bits (M bit)
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID|Y|KEYIDX
			i++
		}
	}
	return i < len(p) && p[i]&0x01 == 0
}
