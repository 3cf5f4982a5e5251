package whiptest

// The WHIP/WHEP signalling of the test client: pion peers as a browser would make them,
// offers with every candidate gathered, and requests to a media endpoint.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// PeerOptions adjusts a test peer.
type PeerOptions struct {
	// First, if set, is registered before pion's default interceptors: it is the innermost
	// interceptor, the first to see incoming packets and the last to see outgoing ones.
	First interceptor.Factory
	// Last, if set, is registered after the defaults.
	Last interceptor.Factory
}

// NewPeerConnection is a pion peer as a browser would be: default codecs (H.264, VP8, VP9,
// AV1 with their RTX, Opus) and default interceptors (NACK, reports, TWCC), UDP4 with
// loopback candidates. The caller closes it.
func NewPeerConnection(o PeerOptions) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if o.First != nil {
		reg.Add(o.First)
	}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	if o.Last != nil {
		reg.Add(o.Last)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// NewPeer is NewPeerConnection failing t on error; the peer is closed at cleanup.
func NewPeer(t testing.TB, o PeerOptions) *webrtc.PeerConnection {
	t.Helper()
	pc, err := NewPeerConnection(o)
	if err != nil {
		t.Fatalf("new PeerConnection: %v", err)
	}
	t.Cleanup(func() { pc.GracefulClose() })
	return pc
}

// OfferGathered makes pc's offer and waits until it holds every candidate, for at most
// timeout (0: no limit).
func OfferGathered(pc *webrtc.PeerConnection, timeout time.Duration) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	var expired <-chan time.Time
	if timeout > 0 {
		expired = time.After(timeout)
	}
	select {
	case <-gathered:
	case <-expired:
		return "", fmt.Errorf("ICE gathering did not complete within %v", timeout)
	}
	return pc.LocalDescription().SDP, nil
}

// GatheredOffer is OfferGathered with a 10 s limit, failing t on error.
func GatheredOffer(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	offer, err := OfferGathered(pc, 10*time.Second)
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	return offer
}

// Response is a media endpoint's response, read whole.
type Response struct {
	Status int
	Body   string
	Header http.Header
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// Request sends one request to a media endpoint with the token as a Bearer credential
// (none if tok is ""); extra is header name/value pairs.
func Request(method, u, tok, contentType, body string, extra ...string) (Response, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Body: string(b), Header: resp.Header}, nil
}

// Do is Request failing t on a transport error.
func Do(t testing.TB, method, u, tok, contentType, body string, extra ...string) Response {
	t.Helper()
	r, err := Request(method, u, tok, contentType, body, extra...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return r
}

// PostOffer POSTs an SDP offer.
func PostOffer(t testing.TB, u, tok, offer string) Response {
	t.Helper()
	return Do(t, http.MethodPost, u, tok, "application/sdp", offer)
}

// Resolve makes a Location (an absolute path) absolute against the URL it came from.
func Resolve(t testing.TB, base, loc string) string {
	t.Helper()
	if loc == "" {
		t.Fatalf("no Location")
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %q: %v", base, err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse Location %q: %v", loc, err)
	}
	return b.ResolveReference(l).String()
}

// Session is what a successful offer POST returned.
type Session struct {
	Location string      // absolute
	Posted   time.Time   // when the POST returned
	Header   http.Header // the 201's
}

// Connect offers with every candidate gathered, POSTs the offer to u with the token, requires
// a 201 and applies its answer.
func Connect(t testing.TB, pc *webrtc.PeerConnection, u, tok string) Session {
	t.Helper()
	offer := GatheredOffer(t, pc)
	resp := PostOffer(t, u, tok, offer)
	posted := time.Now()
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", u, resp.Status, resp.Body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.Body}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	return Session{Location: Resolve(t, u, resp.Header.Get("Location")), Posted: posted, Header: resp.Header}
}

// WaitConnected waits up to 15 s for pc to connect.
func WaitConnected(t testing.TB, pc *webrtc.PeerConnection, who string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not connected within 15 s (state %s)", who, pc.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// WithoutCandidates strips candidate lines from an SDP.
func WithoutCandidates(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// SDPFragOf collects pc's candidates until gathering ends and writes them as a
// trickle-ice-sdpfrag (RFC 8840 §9) for the first m-line.
func SDPFragOf(t testing.TB, pc *webrtc.PeerConnection, cands <-chan *webrtc.ICECandidate) string {
	t.Helper()
	sd := &sdp.SessionDescription{}
	if err := sd.UnmarshalString(pc.LocalDescription().SDP); err != nil {
		t.Fatalf("parse the local description: %v", err)
	}
	md := sd.MediaDescriptions[0]
	ufrag, _ := md.Attribute("ice-ufrag")
	pwd, _ := md.Attribute("ice-pwd")
	mid, _ := md.Attribute("mid")
	var b strings.Builder
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=%s 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:%s\r\n", ufrag, pwd, md.MediaName.Media, mid)
	n := 0
	timeout := time.After(15 * time.Second)
	for {
		select {
		case c := <-cands:
			if c == nil {
				if n == 0 {
					t.Fatalf("the client gathered no candidate")
				}
				b.WriteString("a=end-of-candidates\r\n")
				return b.String()
			}
			fmt.Fprintf(&b, "a=%s\r\n", c.ToJSON().Candidate)
			n++
		case <-timeout:
			t.Fatalf("candidate gathering did not end within 15 s")
		}
	}
}
