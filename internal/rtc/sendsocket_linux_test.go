package rtc

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSendSocket: on Linux the fast path has a socket of its own on the media port. Every
// datagram that arrives on the port reaches pion's socket, from many senders (the reuseport
// group would otherwise spread them by address hash), and what the send socket sends
// leaves from the media port.
func TestSendSocket(t *testing.T) {
	m := testMediaSocket(t)
	if m.send == nil {
		t.Fatal("no send socket on Linux")
	}
	port := m.mux.LocalAddr().(*net.UDPAddr).AddrPort()
	const senders = 64
	for i := range senders {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(port))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	seen := map[byte]bool{}
	buf := make([]byte, 16)
	m.mux.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(seen) < senders {
		n, err := m.mux.Read(buf)
		if err != nil {
			t.Fatalf("pion's socket got %d of %d senders' datagrams: %v", len(seen), senders, err)
		}
		seen[buf[n-1]] = true
	}
	if _, _, err := unix.Recvfrom(m.send.fd, buf, unix.MSG_DONTWAIT); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("the send socket received a datagram (err %v)", err)
	}

	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := newUDPTarget(m, peer.LocalAddr().(*net.UDPAddr).AddrPort())
	if n, err := m.writeTo([]byte("media"), to); err != nil || n != 5 {
		t.Fatalf("writeTo: %d, %v", n, err)
	}
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "media" || from != port {
		t.Errorf("got %q from %s; want \"media\" from the media port %s", buf[:n], from, port)
	}
}

// TestMediaSocketPortTaken: SO_REUSEPORT must not let the media port be shared with another
// socket; binding a taken port fails as without it.
func TestMediaSocketPortTaken(t *testing.T) {
	m := testMediaSocket(t)
	port := m.mux.LocalAddr().(*net.UDPAddr).AddrPort()
	if again, err := listenMediaSocket(netip.AddrPortFrom(port.Addr().Unmap(), port.Port()), testLogger()); err == nil {
		again.mux.Close()
		again.closeSend()
		t.Fatalf("a second media socket bound %s", port)
	}
}

// BenchmarkSend is why the send socket exists: the process's CPU per 1,200-byte datagram
// sent to 100 loopback peers, from pion's socket (which Go's netpoller watches) and from the
// send socket beside it. The peers are raw sockets the benchmark drains itself, the same in
// both. cpu-ns/op counts every thread of the process, the one the netpoller wakes included.
func BenchmarkSend(b *testing.B) {
	const peers = 100
	m := testMediaSocket(b)
	if m.send == nil {
		b.Fatal("no send socket on Linux")
	}
	targets := make([]*udpTarget, peers)
	fds := make([]int, peers)
	for i := range peers {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			b.Fatal(err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			b.Fatal(err)
		}
		fds[i] = fd
		targets[i] = newUDPTarget(m, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port)))
	}
	pkt := make([]byte, 1200)
	drain := make([]byte, 1500)
	run := func(b *testing.B, send func(*udpTarget) error) {
		start := processCPU(b)
		for i := range b.N {
			if err := send(targets[i%peers]); err != nil {
				b.Fatal(err)
			}
			if i%peers == peers-1 {
				for _, fd := range fds {
					for {
						if _, _, err := unix.Recvfrom(fd, drain, unix.MSG_DONTWAIT); err != nil {
							break
						}
					}
				}
			}
		}
		b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
	}
	b.Run("netpoll-socket", func(b *testing.B) {
		run(b, func(t *udpTarget) error { _, err := m.mux.WriteToUDPAddrPort(pkt, t.addr); return err })
	})
	b.Run("send-socket", func(b *testing.B) {
		run(b, func(t *udpTarget) error { return m.send.writeTo(pkt, &t.sa) })
	})
}

// processCPU is the process's user and system CPU time so far, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
