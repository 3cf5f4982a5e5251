package record

import (
	"bytes"
	"testing"
)

func TestRingKeepsOrderAndDropsWhenFull(t *testing.T) {
	r := newRing(4)
	for i := range 6 {
		r.Write([]byte{byte(i), 1, 2})
	}
	var got []byte
	r.drain(func(pkt []byte, at int64) {
		if at == 0 {
			t.Error("a packet without its arrival time")
		}
		got = append(got, pkt[0])
	})
	if !bytes.Equal(got, []byte{0, 1, 2, 3}) || r.drops.Load() != 2 {
		t.Fatalf("drained %v with %d drops; want the first 4 and 2 drops", got, r.drops.Load())
	}
	r.Write([]byte{9})
	got = got[:0]
	r.drain(func(pkt []byte, _ int64) { got = append(got, pkt[0]) })
	if !bytes.Equal(got, []byte{9}) {
		t.Fatalf("after a drain the ring takes packets again: %v", got)
	}
	r.Write(make([]byte, slotSize+1))
	if r.drops.Load() != 3 {
		t.Fatal("an oversized packet must be dropped, not truncated")
	}
}

// The media plane's read loop calls Write for every packet of a recorded track.
func TestRingWriteAllocatesNothing(t *testing.T) {
	r := newRing(ringSlots)
	pkt := make([]byte, 1200)
	allocs := testing.AllocsPerRun(1000, func() {
		r.Write(pkt)
		if r.head.Load()-r.tail.Load() > ringSlots/2 {
			r.drain(func([]byte, int64) {})
		}
	})
	if allocs != 0 {
		t.Fatalf("Write allocates %.1f times per packet", allocs)
	}
}

func BenchmarkRingWrite(b *testing.B) {
	r := newRing(ringSlots)
	pkt := make([]byte, 1200)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Write(pkt)
		if i%512 == 0 {
			r.drain(func([]byte, int64) {})
		}
	}
}
