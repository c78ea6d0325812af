package middleware

import (
	"net"
	"testing"
)

// peerAddress reads TCP peers from their fields; it must say what formatting the address
// and parsing it back says, for every kind of address.
func TestPeerAddressMatchesParsing(t *testing.T) {
	tests := []net.Addr{
		&net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 51234},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 8080, Zone: "eth0"},
		&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 1},
		&net.TCPAddr{Port: 9000}, // no IP: formatted as ":9000"
		&net.UnixAddr{Name: "/run/app.sock", Net: "unix"},
		&net.UDPAddr{IP: net.IPv4(192, 0, 2, 9), Port: 53},
	}
	for _, a := range tests {
		host, port := peerAddress(a)
		wantHost, wantPort := hostPort(bound(a.String()))
		if host != wantHost || port != wantPort {
			t.Errorf("%s: peerAddress = %q %d, parsing says %q %d", a, host, port, wantHost, wantPort)
		}
	}
}
