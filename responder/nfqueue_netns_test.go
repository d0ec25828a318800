package responder_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// An nfqLink is two namespaces joined by a veth pair: the daemon side
// (Near, interface near0, 192.0.2.1) and the VM side (Far, interface
// far0, 192.0.2.2).
type nfqLink struct {
	Near, Far string
}

// nfqNewLink creates the namespaces and the veth pair; t.Cleanup deletes
// them.
func nfqNewLink(t testing.TB) nfqLink {
	t.Helper()
	netnstest.RequireRoot(t)
	suffix := netnstest.RandomHex(4)
	l := nfqLink{Near: "nfq-daemon-near-" + suffix, Far: "nfq-daemon-far-" + suffix}
	for _, ns := range []string{l.Near, l.Far} {
		netnstest.NewNamespace(t, ns)
	}
	// Created inside Near with its peer moved straight to Far: the root
	// namespace never sees either end.
	netnstest.Run(t, "ip", "-n", l.Near, "link", "add", "near0", "type", "veth", "peer", "name", "far0", "netns", l.Far)
	netnstest.Run(t, "ip", "-n", l.Near, "addr", "add", "192.0.2.1/24", "dev", "near0")
	netnstest.Run(t, "ip", "-n", l.Far, "addr", "add", "192.0.2.2/24", "dev", "far0")
	netnstest.Run(t, "ip", "-n", l.Near, "link", "set", "near0", "up")
	netnstest.Run(t, "ip", "-n", l.Far, "link", "set", "far0", "up")
	nfqWaitUp(t, l.Near, "near0")
	nfqWaitUp(t, l.Far, "far0")
	return l
}

// nfqWaitUp waits until the interface has its carrier: a veth drops what
// is sent before both ends are up.
func nfqWaitUp(t testing.TB, ns, dev string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		out, _ := exec.Command("ip", "-n", ns, "link", "show", dev).CombinedOutput()
		if strings.Contains(string(out), "state UP") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s not up after 5s: %s", dev, ns, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nfqInterface returns the interface name inside namespace ns.
func nfqInterface(t testing.TB, ns, name string) *net.Interface {
	t.Helper()
	var ifi *net.Interface
	var err error
	netnstest.InNS(t, ns, func() { ifi, err = net.InterfaceByName(name) })
	if err != nil {
		t.Fatalf("interface %s in %s: %v", name, ns, err)
	}
	return ifi
}

// An nfqPath is a link whose near end diverts UDP to port 67 into queue
// Queue: Listener (192.0.2.1:67 in Near) receives what the queue accepts,
// Conn sends from 192.0.2.2:68 in Far, and NS is Near for
// responder.WithNetNS. t.Cleanup closes everything.
type nfqPath struct {
	nfqLink
	Queue    uint16
	Listener net.PacketConn
	Conn     net.Conn
	NS       netns.NsHandle
}

func nfqNewPath(t testing.TB, queue uint16) nfqPath {
	t.Helper()
	p := nfqPath{nfqLink: nfqNewLink(t), Queue: queue}
	netnstest.Run(t, "ip", "netns", "exec", p.Near, "iptables", "-t", "mangle", "-A", "PREROUTING",
		"-i", "near0", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queue))
	var err error
	netnstest.InNS(t, p.Near, func() { p.Listener, err = net.ListenPacket("udp4", "192.0.2.1:67") })
	if err != nil {
		t.Fatalf("listen in %s: %v", p.Near, err)
	}
	t.Cleanup(func() { p.Listener.Close() })
	netnstest.InNS(t, p.Far, func() {
		p.Conn, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 68}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67})
	})
	if err != nil {
		t.Fatalf("dial from %s: %v", p.Far, err)
	}
	t.Cleanup(func() { p.Conn.Close() })
	if p.NS, err = netns.GetFromName(p.Near); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.NS.Close() })
	return p
}
