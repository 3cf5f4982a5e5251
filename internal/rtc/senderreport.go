package rtc

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Sender reports (RFC 3550 §6.4.1) map each downtrack's RTP timestamps to wall-clock time, so
// the subscriber can play its audio and video in sync. pion's report interceptor would count
// only the packets sent through pion, so the subscriber sends its own, as that interceptor
// did: once a second for every downtrack that has sent.
const senderReportInterval = time.Second

// srClock is a downtrack's sending state for its sender reports: written by whoever sends
// (busy's holder, or the send queue's writer), read by the report loop.
type srClock struct {
	packets, octets atomic.Uint32
	ts              atomic.Uint32 // the RTP timestamp of the latest frame's first packet
	at              atomic.Int64  // when it went, on the track's clock (upTrack.now)
}

// sent counts one packet; at a new timestamp it moves the clock.
func (c *srClock) sent(ts uint32, octets int, now int64) {
	if c.packets.Add(1) == 1 || c.ts.Load() != ts {
		c.ts.Store(ts)
		c.at.Store(now)
	}
	c.octets.Add(uint32(octets))
}

// report is the sender report for ssrc now, or nil before the first packet.
func (c *srClock) report(ssrc, clockRate uint32, wall time.Time, now int64) *rtcp.SenderReport {
	packets := c.packets.Load()
	if packets == 0 {
		return nil
	}
	elapsed := time.Duration(now - c.at.Load())
	return &rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(wall),
		RTPTime:     c.ts.Load() + uint32(elapsed.Seconds()*float64(clockRate)),
		PacketCount: packets,
		OctetCount:  c.octets.Load(),
	}
}

// ntpTime is t as a 64-bit NTP timestamp: seconds since 1900 and a binary fraction.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	ns := uint64(t.UnixNano())
	secs := ns/1e9 + ntpEpochOffset
	frac := (ns % 1e9) << 32 / 1e9
	return secs<<32 | frac
}

// sendReports writes the downtracks' sender reports every interval until done closes.
func (sub *subscriber) sendReports(write func([]rtcp.Packet) error, downs []*downTrack, done <-chan struct{}) {
	t := time.NewTicker(senderReportInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case wall := <-t.C:
			var pkts []rtcp.Packet
			for _, d := range downs {
				if r := d.sr.report(d.ssrc, d.clockRate, wall, d.up.now()); r != nil {
					pkts = append(pkts, r)
				}
			}
			if len(pkts) > 0 {
				_ = write(pkts) // a closed PeerConnection: done follows
			}
		}
	}
}
