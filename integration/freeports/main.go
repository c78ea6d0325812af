// Command freeports prints loopback ports that are free right now, one NAME=PORT line per
// argument, for integration/run.sh: every server of a run listens where the kernel said
// nothing else does, so two runs on one host cannot collide. An argument is NAME for a TCP
// port or NAME/udp for a UDP one. Each port stays bound until all are chosen, so no two
// names get the same port.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: freeports NAME[/udp]...")
		os.Exit(2)
	}
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var out strings.Builder
	for _, arg := range os.Args[1:] {
		name, udp := strings.CutSuffix(arg, "/udp")
		var (
			c    io.Closer
			addr net.Addr
			err  error
		)
		if udp {
			var pc net.PacketConn
			pc, err = net.ListenPacket("udp", "127.0.0.1:0")
			if err == nil {
				c, addr = pc, pc.LocalAddr()
			}
		} else {
			var l net.Listener
			l, err = net.Listen("tcp", "127.0.0.1:0")
			if err == nil {
				c, addr = l, l.Addr()
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "freeports: %s: %v\n", arg, err)
			os.Exit(1)
		}
		held = append(held, c)
		_, port, _ := net.SplitHostPort(addr.String())
		fmt.Fprintf(&out, "%s=%s\n", name, port)
	}
	fmt.Print(out.String())
}
