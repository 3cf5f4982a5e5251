//go:build !linux

package rtc

// bell wakes a ring's consumer: a channel of one outside Linux (bell_linux.go says why
// Linux uses an eventfd).
type bell struct{ ch chan struct{} }

func newBell() *bell { return &bell{ch: make(chan struct{}, 1)} }

func (b *bell) ring() {
	select {
	case b.ch <- struct{}{}:
	default:
	}
}

func (b *bell) wait() { <-b.ch }

func (b *bell) close() { b.ring() }
