package rtc

import (
	"sync"

	"github.com/pion/rtp"
)

// A subscriber on ICE-TCP can stall: pion writes to a TCP candidate with a plain blocking
// conn.Write, so a client that stops reading, or a congested path, would block the
// publisher's forwarding goroutine and with it every other subscriber of the track. Once ICE
// selects a TCP pair, the subscriber's downtracks hand their packets to a sendQueue instead:
// fixed slots the packet is copied into without waiting, drained by one writer goroutine per
// subscriber. A full queue drops the packet, counted; video then waits for the next keyframe
// and asks for one (downTrack.enqueue). UDP subscribers keep writing directly: a UDP write
// does not wait for the peer. STYLE.md "The RTP hot path": "a slow consumer never blocks the
// reader".

// queueSlots bounds a subscriber's queue: about a second of 1.5 Mbps video and its audio.
const queueSlots = 256

// queuedPacket is one packet waiting for the writer: the downtrack's rewritten header fields
// and a copy of the payload.
type queuedPacket struct {
	d       *downTrack
	seq     uint16
	ts      uint32
	marker  bool
	n       int
	payload [receiveBufSize]byte
}

// sendQueue is one subscriber's ring of packets for its writer goroutine (run). Producers are
// the forwarding goroutines of the tracks the subscriber watches; push never waits.
type sendQueue struct {
	mu     sync.Mutex // guards head, n, closed and the slots from head to head+n
	slots  []queuedPacket
	head   int // the oldest packet, which the writer may be writing
	n      int // packets queued, including the one being written
	closed bool
	wake   chan struct{} // capacity 1: a packet was queued or the queue closed
}

func newSendQueue() *sendQueue {
	return &sendQueue{slots: make([]queuedPacket, queueSlots), wake: make(chan struct{}, 1)}
}

// push copies a packet in; false if the queue is full or closed. It never waits and never
// allocates.
func (q *sendQueue) push(d *downTrack, h *rtp.Header, payload []byte) bool {
	if len(payload) > receiveBufSize {
		return false
	}
	q.mu.Lock()
	if q.closed || q.n == len(q.slots) {
		q.mu.Unlock()
		return false
	}
	s := &q.slots[(q.head+q.n)%len(q.slots)]
	s.d, s.seq, s.ts, s.marker = d, h.SequenceNumber, h.Timestamp, h.Marker
	s.n = copy(s.payload[:], payload)
	q.n++
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// run writes queued packets, oldest first, until close. It is the subscriber's writer
// goroutine: the only one that may wait on the subscriber's connection.
func (q *sendQueue) run() {
	for {
		p := q.next()
		if p == nil {
			return
		}
		p.d.writeQueued(p)
		q.release()
	}
}

// next returns the oldest packet, waiting for one; nil once the queue is closed. The slot
// stays the writer's until release.
func (q *sendQueue) next() *queuedPacket {
	for {
		q.mu.Lock()
		closed, n, head := q.closed, q.n, q.head
		q.mu.Unlock()
		switch {
		case closed:
			return nil
		case n > 0:
			return &q.slots[head] // push never writes this slot while it is counted in n
		}
		<-q.wake
	}
}

// release frees the slot next returned.
func (q *sendQueue) release() {
	q.mu.Lock()
	q.slots[q.head].d = nil
	q.head = (q.head + 1) % len(q.slots)
	q.n--
	q.mu.Unlock()
}

// close ends run (after the packet it is writing) and refuses further packets; closing
// twice does nothing.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}
