package rtc

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawReader reads a media socket with recvfrom through RawSyscall, inside the poller's
// RawConn.Read: the runtime still parks the reader until the socket is readable, but the
// read itself is no syscall to the scheduler. Every syscall the scheduler sees wakes its
// monitor thread (sysmon) from deep sleep, and the monitor then polls every 20 µs for a
// while: with a datagram every few milliseconds that was a tenth of the server's CPU. Written
// by hand: the standard library's reads all go through syscall.Syscall. One goroutine reads
// at a time (pion's mux reader); the fields carry one read's arguments and results.
type rawReader struct {
	conn syscall.RawConn
	fn   func(fd uintptr) bool // r.recv, made once: a closure per read would allocate
	buf  []byte
	n    int
	from netip.AddrPort
	err  error
	sa   unix.RawSockaddrAny
}

func newRawReader(c *net.UDPConn) (*rawReader, error) {
	conn, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rawReader{conn: conn}
	r.fn = r.recv
	return r, nil
}

// read receives one datagram into b.
func (r *rawReader) read(b []byte) (int, netip.AddrPort, error) {
	r.buf = b
	err := r.conn.Read(r.fn)
	r.buf = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.err != nil {
		return 0, netip.AddrPort{}, r.err
	}
	return r.n, r.from, nil
}

// recv is one non-blocking recvfrom; false asks the poller to wait for the socket.
func (r *rawReader) recv(fd uintptr) bool {
	var p unsafe.Pointer
	if len(r.buf) > 0 {
		p = unsafe.Pointer(&r.buf[0])
	}
	salen := uint32(unsafe.Sizeof(r.sa))
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(p), uintptr(len(r.buf)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&r.sa)), uintptr(unsafe.Pointer(&salen)))
	switch e {
	case 0:
	case unix.EAGAIN, unix.EINTR:
		return false
	default:
		r.err = e
		return true
	}
	r.n, r.err = int(n), nil
	r.from = addrPortOf(&r.sa)
	return true
}

// addrPortOf reads a sockaddr_in or sockaddr_in6 the kernel filled in.
func addrPortOf(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port)
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
