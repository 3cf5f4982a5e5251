package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// engine is the one webrtc.API every PeerConnection is made from, and the sockets all media
// shares: one UDP port (an ICE UDP mux per local address) and ICE-TCP on the same port number.
type engine struct {
	api      *webrtc.API
	feedback *interceptor.Registry // what each publisher's feedback is built from
	udp      *ice.MultiUDPMuxDefault
	conns    map[netip.Addr]*mediaSocket // the mux's sockets by local address, for the fast path
	in       *inRoutes                   // streams the sockets' readers hand to tracks (inbound.go)
	tcp      ice.TCPMux
	port     int
}

// Codecs Footlight forwards (DESIGN.md "Codecs"). Payload types are only defaults: as the
// answerer, pion adopts the offer's numbers.
var (
	h264Profiles = []string{"42e01f", "42001f", "42c01f"} // constrained baseline, baseline
	videoFB      = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}}
)

// newEngine binds the media port and builds the API.
func newEngine(cfg Config, log *slog.Logger, logs logging.LoggerFactory) (*engine, error) {
	guard := tcpGuard{timeout: cfg.TCPWriteTimeout, log: log}
	if guard.timeout == 0 {
		guard.timeout = defaultTCPWriteTimeout
	}
	e, err := listenMedia(cfg.UDPPort, guard, log, logs)
	if err != nil {
		return nil, err
	}
	me, err := newMediaEngine()
	if err != nil {
		e.close()
		return nil, err
	}
	e.feedback, err = configureFeedback(me, logs)
	if err != nil {
		e.close()
		return nil, err
	}
	se, err := e.settings(cfg, logs)
	if err != nil {
		e.close()
		return nil, err
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se))
	return e, nil
}

// newMediaEngine registers H.264 baseline profiles (packetization-mode 1), VP8 and Opus, each
// video codec with an RTX partner (RFC 4588) so NACKed packets come back on their own SSRC.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	opus := webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	}}
	if err := me.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	pt := webrtc.PayloadType(102)
	for _, profile := range h264Profiles {
		fmtp := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile
		if err := registerVideo(me, webrtc.MimeTypeH264, fmtp, pt); err != nil {
			return nil, err
		}
		pt += 2
	}
	if err := registerVideo(me, webrtc.MimeTypeVP8, "", 96); err != nil {
		return nil, err
	}
	return me, nil
}

// registerVideo registers a video codec at pt and its RTX at pt+1.
func registerVideo(me *webrtc.MediaEngine, mime, fmtp string, pt webrtc.PayloadType) error {
	codec := webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFB,
	}}
	rtx := webrtc.RTPCodecParameters{PayloadType: pt + 1, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=" + strconv.Itoa(int(pt)),
	}}
	if err := me.RegisterCodec(codec, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register %s: %w", mime, err)
	}
	if err := me.RegisterCodec(rtx, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register rtx for %s: %w", mime, err)
	}
	return nil
}

// configureFeedback configures the media engine for NACK (feedback "nack" and "nack pli"),
// transport-wide congestion control feedback and the mid/rid header extensions simulcast
// needs, and returns the interceptors publishers build their feedback from (feedback.go).
//
// Neither side's PeerConnections get pion interceptors. A publisher's tracks hand their
// packets to their own feedback, because over UDP they are read from the socket, not through
// pion's chain. A subscriber's downtracks answer NACKs (rtx.go) and send sender reports
// (senderreport.go) themselves, because the fast path (fastpath.go) does not go through pion's
// chain either. An interceptor is not free even with no stream: the NACK generator and both
// report interceptors run a goroutine with a ticker per PeerConnection from its creation.
func configureFeedback(me *webrtc.MediaEngine, logs logging.LoggerFactory) (*interceptor.Registry, error) {
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, fmt.Errorf("transport-cc extension: %w", err)
		}
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, fmt.Errorf("simulcast extensions: %w", err)
	}
	return newFeedbackRegistry(logs)
}

// settings are the knobs every PeerConnection shares.
func (e *engine) settings(cfg Config, logs logging.LoggerFactory) (webrtc.SettingEngine, error) {
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetICEUDPMux(e.udp)
	se.SetICETCPMux(e.tcp)
	se.SetNetworkTypes([]webrtc.NetworkType{
		webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6,
	})
	// DESIGN.md "ICE": loopback candidates, so everything works on 127.0.0.1 with no network.
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(usableIP)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// The server only listens: clients dial ICE-TCP (RFC 6544 passive candidates).
	se.DisableActiveTCP(true)
	// AES-GCM first (RFC 7714): cheaper per packet than AES-CM with HMAC-SHA1.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if cfg.PublicIP != "" {
		// NAT 1:1: advertise the public address in place of every host address.
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: []string{cfg.PublicIP}, AsCandidateType: webrtc.ICECandidateTypeHost,
		})
		if err != nil {
			return se, fmt.Errorf("public IP %q: %w", cfg.PublicIP, err)
		}
	}
	return se, nil
}

// usableIP drops IPv6 link-local addresses: they need a zone and never reach a client
// through the media port.
func usableIP(ip net.IP) bool { return !ip.IsLinkLocalUnicast() }

// listenMedia binds the UDP mux (one socket per local address, all on one port) and the
// ICE-TCP listener on the same port number. Port 0 picks a free port; a race for it with
// another process is retried a few times.
func listenMedia(port int, guard tcpGuard, log *slog.Logger, logs logging.LoggerFactory) (*engine, error) {
	if port != 0 {
		return listenPort(port, guard, log, logs)
	}
	var errs []error
	for range 8 {
		free, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		e, err := listenPort(free, guard, log, logs)
		if err == nil {
			return e, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no free media port: %w", errors.Join(errs...))
}

// socketBuffer is the media UDP socket's receive and send buffer size asked of the kernel.
const socketBuffer = 4 << 20

func listenPort(port int, guard tcpGuard, log *slog.Logger, logs logging.LoggerFactory) (*engine, error) {
	in := &inRoutes{}
	udp, conns, err := listenUDP(port, in, log, logs)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		udp.Close()
		closeSend(conns)
		return nil, fmt.Errorf("listen tcp %d: %w", port, err)
	}
	// Not webrtc.NewICETCPMux: it puts a 4 MB buffer in front of every conn, 20 s of stale
	// media at 1.5 Mbit/s before a write fails, and then drops mid-frame, uncounted. Writes
	// here are the conn's own; the subscriber's send queue decides what to drop (tcpguard.go).
	tcp := ice.NewTCPMuxDefault(ice.TCPMuxParams{
		Listener:       guardedListener{Listener: ln, guard: guard},
		Logger:         logs.NewLogger("tcpmux"),
		ReadBufferSize: 8,
	})
	return &engine{udp: udp, conns: conns, in: in, tcp: tcp, port: port}, nil
}

// listenUDP binds port on every usable local address, loopback included, as
// ice.NewMultiUDPMuxFromPort does, but keeps the sockets, and adds a send socket to each:
// the fast path (fastpath.go) writes to them.
func listenUDP(port int, in *inRoutes, log *slog.Logger, logs logging.LoggerFactory) (*ice.MultiUDPMuxDefault, map[netip.Addr]*mediaSocket, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("list interfaces: %w", err)
	}
	conns := map[netip.Addr]*mediaSocket{}
	var muxes []ice.UDPMux
	fail := func(err error) (*ice.MultiUDPMuxDefault, map[netip.Addr]*mediaSocket, error) {
		for _, c := range conns {
			c.mux.Close()
		}
		closeSend(conns)
		return nil, nil, err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue // an interface that went away meanwhile
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok || !usableIP(ipnet.IP) {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			if !ok || conns[ip.Unmap()] != nil {
				continue
			}
			ip = ip.Unmap()
			c, err := listenMediaSocket(netip.AddrPortFrom(ip, uint16(port)), log)
			if err != nil {
				return fail(fmt.Errorf("listen udp %s: %w", net.JoinHostPort(ip.String(), strconv.Itoa(port)), err))
			}
			conns[ip] = c
			mc, err := newMuxConn(c.mux, in)
			if err != nil {
				return fail(fmt.Errorf("media socket %s: %w", ip, err))
			}
			muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: logs.NewLogger("udpmux"), UDPConn: mc}))
		}
	}
	if len(muxes) == 0 {
		return fail(fmt.Errorf("listen udp %d: no usable local address", port))
	}
	return ice.NewMultiUDPMuxDefault(muxes...), conns, nil
}

// freeUDPPort asks the kernel for a port that is free on every address right now.
func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		return 0, fmt.Errorf("find a free udp port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// close releases pion's sockets (the TCP mux closes its listener); PeerConnections must be
// closed first.
func (e *engine) close() error {
	return errors.Join(e.udp.Close(), e.tcp.Close())
}

// closeSend releases the fast path's send sockets, once no track forwards any more.
func (e *engine) closeSend() error { return closeSend(e.conns) }

func closeSend(conns map[netip.Addr]*mediaSocket) error {
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.closeSend())
	}
	return errors.Join(errs...)
}
