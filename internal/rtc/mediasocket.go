package rtc

import (
	"log/slog"
	"net"
	"net/netip"
)

// mediaSocket is one local address's share of the media port: the socket pion reads and
// writes (ICE, DTLS, SRTCP), and beside it, where the kernel allows, a socket the fast path
// only sends from (sendsocket_linux.go).
type mediaSocket struct {
	mux  *net.UDPConn
	send *sendSocket // nil: the fast path writes to mux
}

// listenMediaSocket binds addr for pion and, if the kernel allows, a send socket on the same
// address and port. A port another socket holds is refused as a plain bind refuses it: the
// probe keeps SO_REUSEPORT from letting a second server of the same user share the port.
func listenMediaSocket(addr netip.AddrPort, log *slog.Logger) (*mediaSocket, error) {
	probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	if err := probe.Close(); err != nil {
		return nil, err
	}
	mux, err := listenReusePort(addr)
	if err != nil {
		return nil, err
	}
	// Port 0 in tests: the send socket joins the port the kernel picked.
	addr = netip.AddrPortFrom(addr.Addr(), uint16(mux.LocalAddr().(*net.UDPAddr).Port))
	send, err := newSendSocket(mux, addr)
	if err != nil {
		log.Warn("fast path sends from the media socket", "addr", addr, "err", err)
	}
	// Every participant's media arrives on these sockets: the kernel's default 208 KiB
	// overflowed (and dropped packets) at 30 publishers. Linux caps it at net.core.rmem_max.
	_ = mux.SetReadBuffer(socketBuffer)
	_ = mux.SetWriteBuffer(socketBuffer)
	return &mediaSocket{mux: mux, send: send}, nil
}

// writeTo sends one datagram to a subscriber, from the send socket if there is one. Its
// errors are bare errnos: the caller only counts them, and wrapping would allocate.
func (m *mediaSocket) writeTo(b []byte, to *udpTarget) (int, error) {
	if m.send != nil {
		if err := m.send.writeTo(b, &to.sa); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return m.mux.WriteToUDPAddrPort(b, to.addr)
}

// closeSend closes the send socket. Nothing may write to it any more: its descriptor
// number can be reused at once.
func (m *mediaSocket) closeSend() error {
	if m.send == nil {
		return nil
	}
	return m.send.close()
}
