package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
)

// statsdTarget is a parsed StatsD address.
type statsdTarget struct {
	network string // udp, unixgram, unixstream, or unix (datagram, else stream)
	addr    string // host:port, or the socket's path
}

// Address schemes, as Datadog's clients and DD_DOGSTATSD_URL spell them.
var statsdSchemes = map[string]string{
	"udp://": "udp", "unix://": "unix", "unixgram://": "unixgram", "unixstream://": "unixstream",
}

// parseStatsDAddr parses host:port, udp://host:port, unix:///path, unixgram:///path or
// unixstream:///path. The error never quotes s.
func parseStatsDAddr(s string) (statsdTarget, error) {
	s = strings.TrimSpace(s)
	for scheme, network := range statsdSchemes {
		rest, ok := strings.CutPrefix(s, scheme)
		if !ok {
			continue
		}
		if network == "udp" {
			if _, _, err := splitHostPort(rest); err != nil {
				return statsdTarget{}, err
			}
			return statsdTarget{network: network, addr: rest}, nil
		}
		if rest == "" || strings.ContainsAny(rest, "\x00\n") {
			return statsdTarget{}, errors.New("want a socket path after " + scheme)
		}
		return statsdTarget{network: network, addr: rest}, nil
	}
	if strings.Contains(s, "://") {
		return statsdTarget{}, errors.New("want host:port, or a udp://, unix://, unixgram:// or unixstream:// URL")
	}
	if _, _, err := splitHostPort(s); err != nil {
		return statsdTarget{}, err
	}
	return statsdTarget{network: "udp", addr: s}, nil
}

// unix reports whether t is a Unix domain socket.
func (t statsdTarget) unix() bool { return t.network != "udp" }

// dial connects to the server. A unix:// address tries a datagram socket first, as the
// Datadog Agent's dogstatsd_socket is, and a stream socket (dogstatsd_stream_socket)
// when the socket says it is one.
func (t statsdTarget) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	switch t.network {
	case "unixstream":
		return d.DialContext(ctx, "unix", t.addr)
	case "unix":
		conn, err := d.DialContext(ctx, "unixgram", t.addr)
		if err != nil && errors.Is(err, syscall.EPROTOTYPE) {
			return d.DialContext(ctx, "unix", t.addr)
		}
		return conn, err
	}
	return d.DialContext(ctx, t.network, t.addr)
}

// ParseStatsDAddr checks a StatsD address: host:port or udp://host:port (UDP),
// unixgram:///path (a Unix datagram socket), unixstream:///path (a Unix stream socket,
// each packet after its length as DogStatsD frames them) or unix:///path (datagram, or
// stream if the socket is one), the forms of Datadog's DD_DOGSTATSD_URL.
func ParseStatsDAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := parseStatsDAddr(s); err != nil {
		return "", err
	}
	return s, nil
}

// DefaultAgentPort is DogStatsD's port when DD_AGENT_HOST names only the host.
const DefaultAgentPort = "8125"

// AgentAddr is the StatsD address Datadog's DD_AGENT_HOST and DD_DOGSTATSD_PORT name, as
// Datadog's clients read them: a host alone takes port (DefaultAgentPort when empty); a
// host:port or a URL (see ParseStatsDAddr) is used as is, and portUsed is false. The
// error never quotes either value.
func AgentAddr(host, port string) (addr string, portUsed bool, err error) {
	host = strings.TrimSpace(host)
	if strings.Contains(host, "://") {
		addr, err = ParseStatsDAddr(host)
		return addr, false, err
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		addr, err = ParseStatsDAddr(host)
		return addr, false, err
	}
	if port = strings.TrimSpace(port); port == "" {
		port = DefaultAgentPort
	}
	addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
	if _, _, err := splitHostPort(addr); err != nil {
		return "", false, err
	}
	return addr, true, nil
}
