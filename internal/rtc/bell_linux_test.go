package rtc

import (
	"testing"
	"time"
)

// TestBell: on Linux the bell is an eventfd; rings before a wait count as one, a wait blocks
// until the next ring, close wakes a waiter for good, and ringing and waiting allocate nothing.
func TestBell(t *testing.T) {
	b := newBell()
	defer b.close()
	if b.ch != nil {
		t.Fatal("the bell fell back to a channel: no eventfd")
	}
	b.ring()
	b.ring()
	b.wait() // both rings
	woke := make(chan struct{})
	go func() { b.wait(); close(woke) }()
	select {
	case <-woke:
		t.Fatal("a wait returned with no ring since the last one")
	case <-time.After(50 * time.Millisecond):
	}
	b.ring()
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("a ring did not wake the waiter")
	}
	if n := testing.AllocsPerRun(100, func() { b.ring(); b.wait() }); n != 0 {
		t.Errorf("ring and wait allocate %.1f times", n)
	}

	c := newBell()
	closed := make(chan struct{})
	go func() { c.wait(); c.wait(); close(closed) }()
	time.Sleep(20 * time.Millisecond)
	c.close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not wake the waiter, or a wait after close blocked")
	}
	c.ring() // after close: ignored, no panic
}
