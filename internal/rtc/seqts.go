package rtc

// Sequence numbers (16 bits) and RTP timestamps (32 bits) wrap around. Order is judged with
// serial-number arithmetic (RFC 1982 §3.2), as RFC 3550 A.1 does for sequence numbers: a is
// newer than b when it is ahead by less than half the number space.

// seqNewer reports whether sequence number a comes after b.
func seqNewer(a, b uint16) bool { return a != b && a-b < 1<<15 }

// tsNewer reports whether timestamp a comes after b.
func tsNewer(a, b uint32) bool { return a != b && a-b < 1<<31 }

// munger maps the sequence numbers and timestamps of the stream a downtrack forwards into the
// downtrack's own space: out = in - offset, modulo 2^16 and 2^32. The offsets are re-based when
// the source changes (a publisher restart, another simulcast layer, a new SSRC), so a
// subscriber sees one continuous stream: no jump back, no hole. Owned by the forwarding goroutine.
type munger struct {
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16 // newest sequence number sent
	lastTS  uint32 // timestamp of the newest packet sent
	lastAt  int64  // arrival time (ns on the up track's clock) of the newest packet sent
	sent    bool   // something was sent since newMunger
}

// newMunger starts a space whose first packet will carry seq and ts. RFC 3550 §5.1 wants a
// random first sequence number and timestamp; the caller picks them.
func newMunger(seq uint16, ts uint32) munger {
	return munger{lastSeq: seq - 1, lastTS: ts}
}

// rebase makes the packet (seq, ts), arriving at now, the one that follows the last packet
// sent: one sequence number later, and later in time by the wall-clock gap in clockRate
// units (at least one tick, so timestamps never stand still across a switch).
func (m *munger) rebase(seq uint16, ts uint32, now int64, clockRate uint32) {
	nextTS := m.lastTS
	if m.sent {
		nextTS += ticksSince(m.lastAt, now, clockRate)
	}
	m.seqOff = seq - (m.lastSeq + 1)
	m.tsOff = ts - nextTS
}

// ticksSince converts the gap between two arrival times to clockRate ticks, at least 1.
func ticksSince(from, to int64, clockRate uint32) uint32 {
	gap := to - from
	if gap <= 0 {
		return 1
	}
	ticks := uint64(gap) * uint64(clockRate) / 1e9
	if ticks == 0 {
		return 1
	}
	return uint32(ticks)
}

// rewrite maps an incoming packet into the outgoing space and remembers the newest one sent.
// Late packets (reordered, or repaired by retransmission) map through the same offsets, so
// they land in the slots they left.
func (m *munger) rewrite(seq uint16, ts uint32, now int64) (uint16, uint32) {
	outSeq, outTS := seq-m.seqOff, ts-m.tsOff
	if !m.sent || seqNewer(outSeq, m.lastSeq) {
		m.lastSeq, m.lastTS, m.lastAt, m.sent = outSeq, outTS, now, true
	}
	return outSeq, outTS
}
