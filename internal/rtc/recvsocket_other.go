//go:build !linux

package rtc

import (
	"net"
	"net/netip"
)

// Outside Linux pion's mux reads through the standard library (recvsocket_linux.go says
// what Linux does instead).
type rawReader struct{ conn *net.UDPConn }

func (r *rawReader) read(b []byte) (int, netip.AddrPort, error) {
	n, from, err := r.conn.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
}

func newRawReader(c *net.UDPConn) (*rawReader, error) { return &rawReader{conn: c}, nil }
