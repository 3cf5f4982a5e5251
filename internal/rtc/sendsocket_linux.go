package rtc

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The send socket. Go registers every net.UDPConn with its epoll instance for writes as well
// as reads, so each datagram sent through one wakes a thread parked in epoll_wait as soon as
// the kernel frees the datagram's buffer (sock_wfree → sk_write_space → ep_poll_callback):
// on loopback 5.3–5.9 µs of the process's CPU per 1,200-byte send against 3.6–4.5 µs from a
// socket epoll does not know (BenchmarkSend, docs/BENCHMARKS.md). The fast path sends a hundred times more than pion does, so it
// sends from a socket of its own, bound to the same address and port with SO_REUSEPORT. A
// reuseport program steers every datagram that arrives on the port to pion's socket, the
// group's first, so the send socket never receives. Written by hand: neither the standard
// library nor x/net has a socket outside the runtime's poller.

// steerToFirst is the classic BPF program "return 0": the reuseport group's socket 0.
var steerToFirst = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// sendSocket is a UDP socket only the fast path writes to.
type sendSocket struct {
	fd int
}

// sockaddr is a destination in the kernel's form, built once per candidate pair.
type sockaddr struct {
	raw [unix.SizeofSockaddrInet6]byte
	len uintptr
}

func sockaddrOf(a netip.AddrPort) sockaddr {
	var s sockaddr
	ip := a.Addr().Unmap()
	if ip.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.raw))
		sa.Family = unix.AF_INET
		sa.Addr = ip.As4()
		s.len = unix.SizeofSockaddrInet4
	} else {
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.raw))
		sa.Family = unix.AF_INET6
		sa.Addr = ip.As16()
		s.len = unix.SizeofSockaddrInet6
	}
	binary.BigEndian.PutUint16(s.raw[2:4], a.Port()) // sin_port and sin6_port, network order
	return s
}

// listenReusePort binds pion's socket on addr with SO_REUSEPORT, so a send socket can
// join it.
func listenReusePort(addr netip.AddrPort) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// newSendSocket gives mux's reuseport group the steering program, then binds a send socket
// beside mux on addr.
func newSendSocket(mux *net.UDPConn, addr netip.AddrPort) (*sendSocket, error) {
	if err := steer(mux); err != nil {
		return nil, fmt.Errorf("reuseport program: %w", err)
	}
	return bindSend(addr)
}

// steer attaches steerToFirst to c's reuseport group, before any other socket joins it.
func steer(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(steerToFirst)), Filter: &steerToFirst[0]}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &prog)
	}); err != nil {
		return err
	}
	return serr
}

// bindSend opens the send socket on addr. It stays blocking for the runtime, which never
// sees it; each send asks the kernel not to wait (MSG_DONTWAIT).
func bindSend(addr netip.AddrPort) (*sendSocket, error) {
	family := unix.AF_INET
	if !addr.Addr().Unmap().Is4() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("send socket: %w", err)
	}
	s := &sendSocket{fd: fd}
	if err := s.setup(family, addr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("send socket on %s: %w", addr, err)
	}
	return s, nil
}

func (s *sendSocket) setup(family int, addr netip.AddrPort) error {
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return err
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return err
		}
	}
	_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
	ip := addr.Addr().Unmap()
	if family == unix.AF_INET {
		// Linux already sets DF on a datagram that fits the route's MTU, but then still draws
		// a hashed IP ID for it (__ip_select_ident, 2.4% of the server's samples at 100
		// subscribers). PMTUDISC_PROBE sets DF on every datagram and lets the kernel write ID 0
		// (RFC 6864 §4.1); media packets are sized for the path already (about 1,200 bytes).
		_ = unix.SetsockoptInt(s.fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		return unix.Bind(s.fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()})
	}
	return unix.Bind(s.fd, &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()})
}

// writeTo sends b to one destination without waiting: a full send buffer is an error, and
// the packet is dropped. RawSyscall, not Syscall: the call cannot block, so the goroutine
// keeps its P and the scheduler sees no syscall.
func (s *sendSocket) writeTo(b []byte, to *sockaddr) error {
	if len(b) == 0 {
		return nil
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&to.raw)), to.len)
	if e != 0 {
		return e
	}
	return nil
}

func (s *sendSocket) close() error { return unix.Close(s.fd) }
