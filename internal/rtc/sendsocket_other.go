//go:build !linux

package rtc

import (
	"errors"
	"net"
	"net/netip"
)

// Outside Linux the fast path writes to pion's socket (sendsocket_linux.go says why Linux
// has a socket of its own).

type sendSocket struct{}

type sockaddr struct{}

func sockaddrOf(netip.AddrPort) sockaddr { return sockaddr{} }

func listenReusePort(addr netip.AddrPort) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
}

func newSendSocket(*net.UDPConn, netip.AddrPort) (*sendSocket, error) {
	return nil, errors.New("a separate send socket needs Linux")
}

func (*sendSocket) writeTo([]byte, *sockaddr) error { return errors.ErrUnsupported }

func (*sendSocket) close() error { return nil }
