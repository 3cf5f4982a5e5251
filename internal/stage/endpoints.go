package stage

import (
	"net"
	"net/url"
	"strings"
)

// Endpoints are a stage's media and events endpoints (DESIGN.md "Contracts").
type Endpoints struct {
	Events string
	WHIP   string
	RTMP   string
	RTMPS  string
}

// EndpointConfig is what endpoints are built from.
type EndpointConfig struct {
	PublicURL   string // e.g. "http://localhost:8080"; advertised base of HTTP endpoints
	RTMPListen  string // "host:port", ":1935" or "off"
	RTMPSListen string // likewise, default ":4443"
}

// Build returns the endpoints of the stage with that id: whip = <public-url>/whip/<id>,
// events = <public-url>/events over ws(s), rtmp(s) = rtmp(s)://host:port/app/ ("" when off).
func (c EndpointConfig) Build(stageID string) Endpoints {
	base := strings.TrimRight(c.PublicURL, "/")
	e := Endpoints{WHIP: base + "/whip/" + stageID, Events: wsURL(base) + "/events"}
	host := hostOf(base)
	e.RTMP = ingestURL("rtmp", host, c.RTMPListen)
	e.RTMPS = ingestURL("rtmps", host, c.RTMPSListen)
	return e
}

func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return u.Hostname()
}

func ingestURL(scheme, host, listen string) string {
	if listen == "" || listen == "off" {
		return ""
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return ""
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/app/"
}
