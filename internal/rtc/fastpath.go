package rtc

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The fast path: a UDP subscriber's RTP is encrypted by the downtrack itself and written
// straight to the media socket, not through pion's RTPSender, interceptors, SRTP session, mux
// and ICE conn. In the fan-out benchmark that chain was a quarter of the server's CPU at 100
// subscribers (docs/BENCHMARKS.md). pion keeps ICE (checks and consent on the same socket),
// DTLS and the SRTCP the server sends; the subscriber's RTCP is read at the socket once the
// fast path is on (rtcpin.go). The downtrack answers NACKs itself
// (rtx.go) and the subscriber sends its own sender reports (senderreport.go), because pion's
// interceptors no longer see the packets. ICE-TCP subscribers keep pion's path (sendqueue.go).

// udpTarget is where a subscriber's packets go: the media socket of the selected pair's
// local address and the pair's remote address. Replaced when ICE selects another pair.
type udpTarget struct {
	sock *mediaSocket
	addr netip.AddrPort
	sa   sockaddr // addr for the send socket
}

func newUDPTarget(sock *mediaSocket, addr netip.AddrPort) *udpTarget {
	return &udpTarget{sock: sock, addr: addr, sa: sockaddrOf(addr)}
}

// fastPath is one downtrack's SRTP sender. Owned by whoever holds the downtrack's busy flag,
// except target, which the ICE goroutine may replace.
type fastPath struct {
	target atomic.Pointer[udpTarget]
	srtp   *srtp.Context // this downtrack's SSRCs only: its own rollover counters
	hdr    rtp.Header    // scratch for EncryptRTP
	plain  [receiveBufSize + 64]byte
	sealed [receiveBufSize + 128]byte
}

// write encrypts one packet and sends it; it never allocates.
func (f *fastPath) write(h *rtp.Header, payload []byte) (int, error) {
	n, err := h.MarshalTo(f.plain[:])
	if err != nil {
		return 0, err
	}
	if n+len(payload) > len(f.plain) {
		return 0, errTooLarge
	}
	n += copy(f.plain[n:], payload)
	out, err := f.srtp.EncryptRTP(f.sealed[:0], f.plain[:n], &f.hdr)
	if err != nil {
		return 0, err
	}
	t := f.target.Load()
	return t.sock.writeTo(out, t)
}

var errTooLarge = errors.New("rtp packet too large")

// srtpKeys are a subscriber's outbound SRTP master key and salt, from its DTLS handshake.
type srtpKeys struct {
	profile   srtp.ProtectionProfile
	key, salt []byte
}

// newContext is an SRTP context of its own for one downtrack.
func (k srtpKeys) newContext() (*srtp.Context, error) {
	return srtp.CreateContext(k.key, k.salt, k.profile)
}

// dtlsKeys are both directions' SRTP master keys and salts of one DTLS handshake.
type dtlsKeys struct {
	profile                                    srtp.ProtectionProfile
	localKey, localSalt, remoteKey, remoteSalt []byte
}

// sessionKeys exports the keys pion derived for pc's SRTP session (RFC 5764 §4.2), with
// the DTLS role our answer took.
func sessionKeys(pc *webrtc.PeerConnection) (dtlsKeys, error) {
	conn, err := dtlsConn(pc.SCTP().Transport())
	if err != nil {
		return dtlsKeys{}, err
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return dtlsKeys{}, errors.New("dtls handshake not complete")
	}
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return dtlsKeys{}, errors.New("no srtp profile negotiated")
	}
	local := pc.LocalDescription()
	if local == nil {
		return dtlsKeys{}, errors.New("no local description")
	}
	// The answer's a=setup: active is the DTLS client (RFC 5763 §5).
	isClient := strings.Contains(local.SDP, "a=setup:active")
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return dtlsKeys{}, fmt.Errorf("export srtp keys: %w", err)
	}
	return dtlsKeys{
		profile: cfg.Profile, localKey: cfg.Keys.LocalMasterKey, localSalt: cfg.Keys.LocalMasterSalt,
		remoteKey: cfg.Keys.RemoteMasterKey, remoteSalt: cfg.Keys.RemoteMasterSalt,
	}, nil
}

// dtlsConn reaches the DTLS connection inside pion's DTLSTransport, which pion keeps
// unexported; its keying material is what the fast path needs. The field is checked by
// name and type, so a pion upgrade that moves it fails here, and the subscriber falls back to
// pion's send path; TestFastPathKeys fails then.
func dtlsConn(t *webrtc.DTLSTransport) (*dtls.Conn, error) {
	f := reflect.ValueOf(t).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*dtls.Conn]() {
		return nil, errors.New("pion's DTLSTransport has no conn *dtls.Conn field")
	}
	c := *(**dtls.Conn)(unsafe.Pointer(f.UnsafeAddr()))
	if c == nil {
		return nil, errors.New("dtls not started")
	}
	return c, nil
}

// targetOf is the socket and address for ICE's selected UDP pair.
func (e *engine) targetOf(p *webrtc.ICECandidatePair) (*udpTarget, error) {
	if p == nil || p.Local == nil || p.Remote == nil {
		return nil, errors.New("no selected candidate pair")
	}
	local, err := netip.ParseAddr(p.Local.Address)
	if err != nil {
		return nil, fmt.Errorf("local candidate %q: %w", p.Local.Address, err)
	}
	remote, err := netip.ParseAddr(p.Remote.Address)
	if err != nil {
		return nil, fmt.Errorf("remote candidate %q: %w", p.Remote.Address, err)
	}
	remote = remote.Unmap()
	conn := e.conns[local.Unmap()]
	if conn == nil {
		// With --rtc-public-ip the local candidate carries the public address, which no
		// socket is bound to: the one non-loopback socket of the remote's family is the one
		// NAT forwards to. With several, which one is unknown here.
		conn = e.onlySocket(remote.Is4())
	}
	if conn == nil {
		return nil, fmt.Errorf("no media socket for local candidate %s", local)
	}
	return newUDPTarget(conn, netip.AddrPortFrom(remote, p.Remote.Port)), nil
}

// onlySocket is the media socket on the one non-loopback address of a family, or nil.
func (e *engine) onlySocket(ip4 bool) *mediaSocket {
	var only *mediaSocket
	for a, c := range e.conns {
		if a.IsLoopback() || a.Is4() != ip4 {
			continue
		}
		if only != nil {
			return nil
		}
		only = c
	}
	return only
}
