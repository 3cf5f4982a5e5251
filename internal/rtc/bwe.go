package rtc

import "time"

// A subscriber's bandwidth, from its RTCP, picks its simulcast layer. REMB
// (draft-alvestrand-rmcat-remb) sets the estimate and caps it; receiver reports (RFC 3550
// §6.4.2) lower it on heavy loss and raise it after a while of little loss. Without either
// signal there is no estimate and the subscriber gets the best layer.
const (
	lossHigh       = 256 * 10 / 100 // fraction lost (of 256) above which the estimate steps down
	lossLow        = 256 * 2 / 100  // fraction lost under which, held for lossRaiseAfter, it steps up
	lossRaiseAfter = 3 * time.Second
	stepDown       = 85  // percent of the estimate kept on heavy loss
	stepUp         = 115 // percent the estimate grows after lossRaiseAfter of little loss
)

// bwe is one downtrack's bandwidth estimate; guarded by its rtcpState (rtcpin.go).
type bwe struct {
	estimate  uint64    // bits per second; 0: no estimate, no limit
	cap       uint64    // the last REMB; 0: none
	goodSince time.Time // start of the current run of low-loss reports; zero: not in one
}

// remb applies a REMB: it is both the estimate and its ceiling.
func (e *bwe) remb(bps uint64) {
	e.estimate, e.cap = max(bps, 1), max(bps, 1)
}

// loss applies a receiver report's fraction lost for the forwarded stream; curRate is the
// bitrate of the layer forwarded, where an estimate starts when loss is the first signal.
func (e *bwe) loss(fraction uint8, now time.Time, curRate uint64) {
	switch {
	case fraction > lossHigh:
		e.goodSince = time.Time{}
		if e.estimate == 0 {
			e.estimate = curRate
		}
		e.estimate = max(e.estimate*stepDown/100, 1)
	case fraction < lossLow:
		if e.goodSince.IsZero() {
			e.goodSince = now
			return
		}
		if e.estimate == 0 || now.Sub(e.goodSince) < lossRaiseAfter {
			return
		}
		e.goodSince = now
		e.estimate = e.estimate*stepUp/100 + 1
		if e.cap != 0 {
			e.estimate = min(e.estimate, e.cap)
		}
	default:
		e.goodSince = time.Time{}
	}
}

// chooseLayer picks the highest layer whose measured bitrate fits under estimate; without an
// estimate, the highest layer. If none fits, the lowest layer that has been measured (a
// layer never measured may not be sent at all), else the lowest.
func chooseLayer(layers []*upTrack, estimate uint64) int32 {
	if estimate == 0 {
		return int32(len(layers) - 1)
	}
	lowest := int32(-1)
	for i := len(layers) - 1; i >= 0; i-- {
		rate := layers[i].bitrate.Load()
		if rate == 0 {
			continue
		}
		if rate <= estimate {
			return int32(i)
		}
		lowest = int32(i)
	}
	return max(lowest, 0)
}
