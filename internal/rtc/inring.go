package rtc

import (
	"sync"
	"sync/atomic"
)

// inSlots is how many packets an inRing holds: a keyframe at 1.5 Mbps is about fifty.
const inSlots = 128

// inRing carries one published stream's packets from the media sockets' readers to the
// track's loop (direct receive, inbound.go). A reader copies a datagram into the next slot
// and rings the bell only if the loop sleeps, so a busy loop takes packets without any
// channel operation. The producers (a socket reader, and the loop that drains pion's track)
// take mu; the one consumer takes no lock.
type inRing struct {
	mu      sync.Mutex    // serializes producers
	tail    atomic.Uint64 // next slot written; advanced by producers under mu
	head    atomic.Uint64 // next slot read; advanced by the consumer alone
	waiting atomic.Bool   // the consumer sleeps, or is about to, on bell
	bell    *bell
	closed  atomic.Bool
	dropped atomic.Uint64 // packets refused because the ring was full
	slots   [inSlots]inSlot
}

// inSlot is one received packet: SRTP as it came off the socket, or plain RTP from pion.
type inSlot struct {
	n     int
	plain bool
	buf   [receiveBufSize]byte
}

func newInRing() *inRing { return &inRing{bell: newBell()} }

// push copies b into the ring; a full ring drops it, as a full socket buffer would.
func (r *inRing) push(b []byte, plain bool) {
	r.mu.Lock()
	t := r.tail.Load()
	if t-r.head.Load() == inSlots {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	s := &r.slots[t%inSlots]
	s.n = copy(s.buf[:], b)
	s.plain = plain
	r.tail.Store(t + 1)
	r.mu.Unlock()
	if r.waiting.Load() && r.waiting.CompareAndSwap(true, false) {
		r.bell.ring()
	}
}

// next waits for the oldest unread slot; nil once the ring is closed and read out. The slot
// stays the caller's until release.
func (r *inRing) next() *inSlot {
	for {
		h := r.head.Load()
		if h != r.tail.Load() {
			return &r.slots[h%inSlots]
		}
		if r.closed.Load() {
			return nil
		}
		r.waiting.Store(true)
		// A producer that wrote before seeing waiting rings no bell: look again.
		if h != r.tail.Load() || r.closed.Load() {
			if !r.waiting.CompareAndSwap(true, false) {
				r.bell.wait() // a producer saw waiting and rang, or is about to
			}
			continue
		}
		r.bell.wait()
	}
}

// release hands the slot next returned back to the producers.
func (r *inRing) release() { r.head.Add(1) }

// close ends next once the ring is read out. Producers may still push; nobody reads it.
func (r *inRing) close() {
	r.closed.Store(true)
	r.waiting.Store(false)
	r.bell.close()
}
