package rtc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Direct receive: a UDP publisher's RTP goes from the media socket's reader straight to the
// track's loop, through one inRing, and the loop decrypts it itself. pion's way has four
// goroutine hand-offs per packet (UDP mux reader → ICE candidate → webrtc mux → SRTP session
// → the track's reader), each a wake-up of a sleeping goroutine and often of a thread. pion
// keeps everything else that arrives on the socket: STUN, DTLS and SRTCP, and RTP of any
// stream no track has claimed.

// inRoutes are the streams taken directly, by the publisher's address, and the subscribers'
// RTCP (rtcpin.go), by the subscriber's address: what the media sockets' readers consult for
// every datagram. Copy-on-write, so readers take no lock.
type inRoutes struct {
	mu   sync.Mutex // serializes writers
	rtp  addrMap[*inRoute]
	rtcp addrMap[*rtcpIn]
}

// addrMap is a copy-on-write map by remote address; writers hold inRoutes.mu.
type addrMap[V comparable] struct {
	m atomic.Pointer[map[netip.AddrPort]V]
}

// get is what a reader calls, per datagram; the zero V when addr is not routed.
func (a *addrMap[V]) get(addr netip.AddrPort) V {
	var zero V
	m := a.m.Load()
	if m == nil || len(*m) == 0 {
		return zero
	}
	return (*m)[addr]
}

// set routes addr to v, in place of anything it had.
func (a *addrMap[V]) set(addr netip.AddrPort, v V) {
	next := map[netip.AddrPort]V{}
	if old := a.m.Load(); old != nil {
		maps.Copy(next, *old)
	}
	next[addr] = v
	a.m.Store(&next)
}

// unset drops addr's route if it is still v.
func (a *addrMap[V]) unset(addr netip.AddrPort, v V) {
	old := a.m.Load()
	if old == nil || (*old)[addr] != v {
		return
	}
	next := maps.Clone(*old)
	delete(next, addr)
	a.m.Store(&next)
}

// inRoute is one publisher's address's streams; copy-on-write like inRoutes.
type inRoute struct {
	streams atomic.Pointer[[]inStream]
}

type inStream struct {
	ssrc uint32
	ring *inRing
}

// deliver hands an RTP datagram from a routed address to its stream's ring, or an SRTCP
// datagram from a routed subscriber to its handler, and reports whether it did; anything else
// is pion's.
func (r *inRoutes) deliver(b []byte, from netip.AddrPort) bool {
	if isRTCP(b) {
		in := r.rtcp.get(from)
		if in == nil {
			return false
		}
		in.handle(b)
		return true
	}
	if !isRTP(b) {
		return false
	}
	route := r.rtp.get(from)
	if route == nil {
		return false
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	for _, s := range *route.streams.Load() {
		if s.ssrc == ssrc {
			s.ring.push(b, false)
			return true
		}
	}
	return false
}

// isRTP tells RTP from what shares its port (RFC 7983: first byte 128–191) and from RTCP
// (RFC 5761 §4: payload types 64–95 once the marker bit is masked).
func isRTP(b []byte) bool {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return false
	}
	pt := b[1] & 0x7f
	return pt < 64 || pt > 95
}

// isRTCP tells RTCP from RTP by its packet type (RFC 5761 §4: 192–223, which RTP's marker
// bit and payload type 64–95 would read as); 8 bytes is RTCP's smallest header.
func isRTCP(b []byte) bool {
	if len(b) < 8 || b[0] < 128 || b[0] > 191 {
		return false
	}
	pt := b[1] & 0x7f
	return pt >= 64 && pt <= 95
}

// routeRTCP takes addr's SRTCP to in.
func (r *inRoutes) routeRTCP(addr netip.AddrPort, in *rtcpIn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rtcp.set(addr, in)
}

// unrouteRTCP gives addr's SRTCP back to pion if it still goes to in.
func (r *inRoutes) unrouteRTCP(addr netip.AddrPort, in *rtcpIn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rtcp.unset(addr, in)
}

// route gives addr a new, empty route, in place of any it had: a client that publishes
// again from the same socket starts afresh.
func (r *inRoutes) route(addr netip.AddrPort) *inRoute {
	r.mu.Lock()
	defer r.mu.Unlock()
	route := &inRoute{}
	route.streams.Store(&[]inStream{})
	r.rtp.set(addr, route)
	return route
}

// add routes ssrc to ring.
func (r *inRoutes) add(route *inRoute, ssrc uint32, ring *inRing) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := append(slices.Clone(*route.streams.Load()), inStream{ssrc: ssrc, ring: ring})
	route.streams.Store(&next)
}

// remove drops addr's route if it is still route.
func (r *inRoutes) remove(addr netip.AddrPort, route *inRoute) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rtp.unset(addr, route)
}

// muxConn is the media socket as pion's UDP mux reads it: datagrams of routed streams are
// taken out before pion sees them.
type muxConn struct {
	*net.UDPConn
	in *inRoutes
	r  *rawReader
}

func newMuxConn(c *net.UDPConn, in *inRoutes) (*muxConn, error) {
	r, err := newRawReader(c)
	if err != nil {
		return nil, err
	}
	return &muxConn{UDPConn: c, in: in, r: r}, nil
}

// ReadFromAddrPort is what pion's mux reads with (ice.AddrPortReaderWriter).
func (c *muxConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := c.r.read(b)
		if err != nil {
			return n, from, err
		}
		if !c.in.deliver(b[:n], from) {
			return n, from, nil
		}
	}
}

func (c *muxConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}

// ReadFrom keeps the routing for a reader that does not use ReadFromAddrPort.
func (c *muxConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// inbound is one publisher's direct receive: its address's route and the SRTP keys its
// tracks decrypt with. Made when the first track starts.
type inbound struct {
	eng *engine
	pc  *webrtc.PeerConnection

	mu     sync.Mutex
	ready  bool // tried: route, addr and keys are set, or err
	err    error
	route  *inRoute
	addr   netip.AddrPort
	keys   srtpKeys
	rings  []*inRing
	closed bool
}

// attach routes ssrcs (a stream and its RTX) to a new ring and returns it with an SRTP
// context of the stream's own, or an error: then the track reads through pion.
func (in *inbound) attach(ssrcs ...uint32) (*inRing, *srtp.Context, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil, nil, errEnded
	}
	if !in.ready {
		in.ready = true
		in.err = in.setup()
	}
	if in.err != nil {
		return nil, nil, in.err
	}
	// Cryptex (RFC 9335) accepted whether or not it was negotiated: it only decides
	// whether header extensions arrive encrypted, and both forms are authenticated.
	ctx, err := srtp.CreateContext(in.keys.key, in.keys.salt, in.keys.profile,
		srtp.SRTPReplayProtection(srtpReplayWindow), srtp.Cryptex(srtp.CryptexModeEnabled))
	if err != nil {
		return nil, nil, fmt.Errorf("srtp context: %w", err)
	}
	ring := newInRing()
	for _, ssrc := range ssrcs {
		if ssrc != 0 {
			in.eng.in.add(in.route, ssrc, ring)
		}
	}
	in.rings = append(in.rings, ring)
	return ring, ctx, nil
}

// srtpReplayWindow is pion's own default for the SRTP it receives.
const srtpReplayWindow = 64

func (in *inbound) setup() error {
	ice := in.pc.SCTP().Transport().ICETransport()
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil {
		return err
	}
	if isTCPPair(pair) {
		return errors.New("ICE-TCP")
	}
	addr, ok := remoteAddr(pair)
	if !ok {
		return errors.New("no selected candidate pair with a readable remote address")
	}
	keys, err := sessionKeys(in.pc)
	if err != nil {
		return err
	}
	in.keys = srtpKeys{profile: keys.profile, key: keys.remoteKey, salt: keys.remoteSalt}
	in.addr = addr
	in.route = in.eng.in.route(in.addr)
	return nil
}

// close stops routing and ends every ring's loop.
func (in *inbound) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	if in.route != nil {
		in.eng.in.remove(in.addr, in.route)
	}
	for _, r := range in.rings {
		r.close()
	}
}
