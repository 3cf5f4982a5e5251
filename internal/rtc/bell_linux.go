package rtc

import (
	"encoding/binary"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bell wakes a ring's consumer. On Linux it is an eventfd the consumer waits on in the
// runtime's poller. A channel send readies the consumer at once, and the runtime then wakes
// a second thread to look for work: in the fan-out benchmark, where every datagram finds the
// track's loop asleep, that thread's futex wake, spin and sleep were a fifth of the server's
// CPU at 10 subscribers. An eventfd write wakes nobody: the socket reader's thread, about to
// park on its socket, finds the loop ready in its own non-blocking poll and runs it next.
// Written by hand: neither the standard library nor x/sys wraps an eventfd.
type bell struct {
	ch     chan struct{} // no eventfd could be made: a channel of one
	file   *os.File
	conn   syscall.RawConn
	ringFn func(fd uintptr) bool // made once: a closure per call would allocate
	waitFn func(fd uintptr) bool
	one    [8]byte // the counter's increment, read-only
	got    [8]byte // the consumer's read
}

func newBell() *bell {
	b := &bell{}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err == nil {
		b.file = os.NewFile(uintptr(fd), "bell") // non-blocking: the poller owns it
		b.conn, err = b.file.SyscallConn()
	}
	if err != nil {
		if b.file != nil {
			b.file.Close()
		}
		b.file, b.ch = nil, make(chan struct{}, 1)
		return b
	}
	binary.NativeEndian.PutUint64(b.one[:], 1)
	b.ringFn, b.waitFn = b.write, b.read
	return b
}

// ring never blocks; rings before the consumer's next wait count as one. A closed bell
// ignores it.
func (b *bell) ring() {
	if b.ch != nil {
		select {
		case b.ch <- struct{}{}:
		default:
		}
		return
	}
	_ = b.conn.Write(b.ringFn)
}

// wait returns once the bell has rung since the last wait, or it is closed. One consumer.
func (b *bell) wait() {
	if b.ch != nil {
		<-b.ch
		return
	}
	_ = b.conn.Read(b.waitFn)
}

// close wakes a waiting consumer for good.
func (b *bell) close() {
	if b.ch != nil {
		b.ring()
		return
	}
	b.file.Close()
}

// write adds one to the counter. RawSyscall: it cannot block, and a syscall the scheduler
// sees wakes its monitor thread (recvsocket_linux.go).
func (b *bell) write(fd uintptr) bool {
	unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b.one[0])), 8)
	return true
}

// read takes the counter; false (nothing rang) asks the poller to wait.
func (b *bell) read(fd uintptr) bool {
	_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&b.got[0])), 8)
	return e != unix.EAGAIN && e != unix.EINTR
}
