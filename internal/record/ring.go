package record

import (
	"sync/atomic"
	"time"
)

// slotSize holds any RTP packet the media plane reads (its receive buffer is 1500 bytes).
const slotSize = 1500

// ring carries one track's packets from the media plane's read loop (the only producer) to
// the recording's muxer (the only consumer). Write never blocks, never allocates and takes
// no lock: when the muxer has fallen a whole ring behind, the packet is dropped and counted,
// so a slow disk or a busy CPU never holds back forwarding (STYLE.md "The RTP hot path").
type ring struct {
	slots []slot
	head  atomic.Uint64 // next slot Write fills; written only by the producer
	tail  atomic.Uint64 // next slot drain reads; written only by the consumer
	drops atomic.Uint64
}

type slot struct {
	n   int
	at  int64 // arrival, Unix nanoseconds
	buf [slotSize]byte
}

func newRing(size int) *ring { return &ring{slots: make([]slot, size)} }

// Write copies one RTP packet into the ring.
func (r *ring) Write(pkt []byte) {
	h := r.head.Load()
	if h-r.tail.Load() >= uint64(len(r.slots)) || len(pkt) > slotSize {
		r.drops.Add(1)
		return
	}
	s := &r.slots[h%uint64(len(r.slots))]
	s.n = copy(s.buf[:], pkt)
	s.at = time.Now().UnixNano()
	r.head.Store(h + 1) // publishes the slot to the consumer
}

// drain hands every packet written so far to fn, oldest first. The slice is valid only
// during the call.
func (r *ring) drain(fn func(pkt []byte, at int64)) {
	t, h := r.tail.Load(), r.head.Load()
	for ; t < h; t++ {
		s := &r.slots[t%uint64(len(r.slots))]
		fn(s.buf[:s.n], s.at)
		r.tail.Store(t + 1) // returns the slot to the producer
	}
}
