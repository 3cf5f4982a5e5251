package rtc

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// tcpSendBuffer bounds the kernel's send buffer of an ICE-TCP conn (Linux doubles it for
// its bookkeeping). Left to autotuning it grows to megabytes, seconds of media a stalled or
// slow client would get late; bounded, the send queue's drops, which restart video at a
// keyframe, come instead. 128 KiB still carries IVS's 8.5 Mbps at 100 ms of round trip.
const tcpSendBuffer = 128 << 10

// defaultTCPWriteTimeout is Config.TCPWriteTimeout's default: longer than any pause a
// working path shows, shorter than the 25 s pion's ICE takes to declare a silent peer failed.
const defaultTCPWriteTimeout = 5 * time.Second

// Without a write buffer (engine.go), pion's ICE-TCP writes (RFC 4571 framing) are blocking
// conn.Writes without a deadline. The send queue keeps a stalled client from blocking the
// forwarding goroutines, but the subscriber's own writers would still wait on it for ever,
// and so would closing its PeerConnection (DTLS sends close_notify through the same conn):
// the publisher's end, which ends its subscriptions, would hang too. So every accepted
// ICE-TCP conn is wrapped: a write that makes no progress for the timeout fails, and the conn
// is closed, since a partial write leaves the framing broken. ICE then fails the connection
// and the session ends.

// tcpGuard is the write timeout and where stalls are logged.
type tcpGuard struct {
	timeout time.Duration
	log     *slog.Logger
}

// guardedListener bounds the send buffer of each ICE-TCP conn it accepts and wraps it in a
// stallGuard.
type guardedListener struct {
	net.Listener
	guard tcpGuard
}

// Accept implements net.Listener.
func (l guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(tcpSendBuffer) // best effort: the default only costs latency
	}
	return &stallGuard{Conn: c, guard: l.guard}, nil
}

// stallGuard is an ICE-TCP conn whose writes time out when the peer stops taking data.
type stallGuard struct {
	net.Conn
	guard   tcpGuard
	pending atomic.Int32 // writes in progress: pion writes from several goroutines
	stalled atomic.Bool
}

// Write arms the deadline when no write is pending and renews it whenever a write completes
// while others wait: the deadline measures time without progress, not the age of a write.
func (c *stallGuard) Write(b []byte) (int, error) {
	if c.pending.Add(1) == 1 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.guard.timeout))
	}
	n, err := c.Conn.Write(b)
	waiting := c.pending.Add(-1)
	switch {
	case err == nil && waiting > 0:
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.guard.timeout))
	case errors.Is(err, os.ErrDeadlineExceeded):
		if c.stalled.CompareAndSwap(false, true) {
			c.guard.log.Warn("ice-tcp client stopped reading: connection dropped",
				"remote", c.RemoteAddr().String(), "timeout", c.guard.timeout)
		}
		c.Conn.Close()
	}
	return n, err
}
