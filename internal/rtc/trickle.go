package rtc

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// sdpFrag is a parsed application/trickle-ice-sdpfrag body (RFC 8840 §9, RFC 9725 §4.3):
// the client's ICE credentials and the candidates it gathered after its offer.
type sdpFrag struct {
	ufrag, pwd string
	candidates []fragCandidate
}

// fragCandidate is one "a=candidate" line and the m-line it belongs to.
type fragCandidate struct {
	value string // "candidate:..." as webrtc.ICECandidateInit wants it
	mid   string // from "a=mid", "" if the fragment names none
	mline int    // index of the fragment's m= line, or 0 before any
}

// parseSDPFrag reads the lines a fragment may carry; others ("a=group", "a=ice-options") are
// ignored. "a=end-of-candidates" needs no action: the ICE agent keeps checking what it has.
func parseSDPFrag(body string) (*sdpFrag, error) {
	f := &sdpFrag{}
	mline, mid := -1, ""
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			mline, mid = mline+1, ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, fragCandidate{value: line[2:], mid: mid, mline: max(mline, 0)})
		}
	}
	if len(f.candidates) == 0 && f.ufrag == "" && !strings.Contains(body, "a=end-of-candidates") {
		return nil, fmt.Errorf("%w: no candidates, credentials or end-of-candidates", errBadFrag)
	}
	return f, nil
}

// trickle adds the fragment's candidates to the session's ICE agent. All m-lines share one
// transport (BUNDLE, RFC 9725 §4.2), but each candidate still names an m-line the offer has.
func (x *session) trickle(f *sdpFrag) error {
	if f.ufrag != "" && f.ufrag != x.remoteUfrag {
		return errICERestart
	}
	x.mu.Lock()
	pc := x.pc
	x.mu.Unlock()
	for _, c := range f.candidates {
		mid, err := x.midOf(c)
		if err != nil {
			return err
		}
		idx := uint16(c.mline)
		err = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.value, SDPMid: &mid, SDPMLineIndex: &idx})
		if err != nil {
			return fmt.Errorf("%w: %w", errBadFrag, err)
		}
		x.trickled.Add(1)
	}
	return nil
}

// midOf resolves a candidate's m-line: its mid if named, else its position.
func (x *session) midOf(c fragCandidate) (string, error) {
	if c.mid != "" {
		for _, m := range x.mids {
			if m == c.mid {
				return m, nil
			}
		}
		return "", fmt.Errorf("%w: no m-line has mid %q", errBadFrag, c.mid)
	}
	if c.mline < len(x.mids) {
		return x.mids[c.mline], nil
	}
	return "", fmt.Errorf("%w: the offer has no m-line %d", errBadFrag, c.mline)
}
