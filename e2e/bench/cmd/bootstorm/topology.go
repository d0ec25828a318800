package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

const (
	tapPrefix = "tapstorm"
	hostAddr  = "192.0.2.1"
	// maxVMs is how many guests get distinct addresses in one
	// documentation /24 after the gateway and the DNS server.
	maxVMs = 241
)

// A vm is what every server is told about one guest, and what the guest
// expects to be told.
type vm struct {
	tap, guestIf string
	mac          net.HardwareAddr
	ip           netip.Addr
	prefix       netip.Prefix
	hostname     string
}

func (v vm) gateway6() netip.Addr { return v.prefix.Addr().Next() }

// vms returns the n guests: MAC 52:54:00:02:00:<i+1>, address
// 192.0.2.<10+i> (53, the DNS server, skipped), prefix 2001:db8:<i+1>::/64.
func vms(n int) []vm {
	var out []vm
	for i := range n {
		host := 10 + i
		if host >= 53 {
			host++
		}
		out = append(out, vm{
			tap:      fmt.Sprintf("%s%d", tapPrefix, i),
			guestIf:  fmt.Sprintf("g%d", i),
			mac:      net.HardwareAddr{0x52, 0x54, 0, 2, byte((i + 1) >> 8), byte(i + 1)},
			ip:       netip.AddrFrom4([4]byte{192, 0, 2, byte(host)}),
			prefix:   netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/64", i+1)),
			hostname: fmt.Sprintf("stormvm%d", i),
		})
	}
	return out
}

// A topology is the hypervisor's namespace, with a TAP-like veth end per
// guest, and the guests' namespace with the other ends. The guests have
// no IP stack of their own (IPv6 off, no IPv4 address): the storm speaks
// for them through a packet socket, so that 241 "VMs" cost no more than
// one process.
type topology struct {
	hv, guests string
	vms        []vm
}

func newTopology(ctx context.Context, n int) (*topology, error) {
	pid := os.Getpid()
	t := &topology{hv: fmt.Sprintf("storm-hv-%d", pid), guests: fmt.Sprintf("storm-vm-%d", pid), vms: vms(n)}
	steps := [][]string{
		{"ip", "netns", "add", t.hv},
		{"ip", "netns", "add", t.guests},
		// The host routes for its guests (radvd insists), and its
		// addresses need no DAD: the links are its own.
		{"ip", "netns", "exec", t.hv, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1",
			"net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"},
		{"ip", "netns", "exec", t.guests, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", t.hv, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := runCmd(ctx, nil, s...); err != nil {
			t.close()
			return nil, fmt.Errorf("bootstorm: topology: %w", err)
		}
	}
	// One ip process per namespace for all the links: one per command
	// would take minutes.
	var hv, guests bytes.Buffer
	for i, v := range t.vms {
		fmt.Fprintf(&hv, "link add %s type veth peer name %s netns %s\n", v.tap, v.guestIf, t.guests)
		fmt.Fprintf(&hv, "link set %s address fe:54:00:02:%02x:%02x up\n", v.tap, (i+1)>>8, (i+1)&0xff)
		fmt.Fprintf(&hv, "addr add %s/24 dev %s noprefixroute\n", hostAddr, v.tap)
		fmt.Fprintf(&hv, "route add %s/32 dev %s src %s\n", v.ip, v.tap, hostAddr)
		fmt.Fprintf(&hv, "addr add %s/64 dev %s nodad\n", v.gateway6(), v.tap)
		fmt.Fprintf(&guests, "link set %s address %s up\n", v.guestIf, v.mac)
	}
	if err := runCmd(ctx, &hv, "ip", "-n", t.hv, "-batch", "-"); err != nil {
		t.close()
		return nil, fmt.Errorf("bootstorm: topology: %w", err)
	}
	if err := runCmd(ctx, &guests, "ip", "-n", t.guests, "-batch", "-"); err != nil {
		t.close()
		return nil, fmt.Errorf("bootstorm: topology: %w", err)
	}
	return t, nil
}

// guestIndexes returns the interface index of every guest's interface,
// by name.
func (t *topology) guestIndexes() (map[string]int, error) {
	ns, err := netns.GetFromName(t.guests)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for _, l := range links {
		idx[l.Attrs().Name] = l.Attrs().Index
	}
	return idx, nil
}

// queueRules diverts the guests' requests to nfdhcpd's four queues, as
// the README's routed setup does.
func (t *topology) queueRules(ctx context.Context) error {
	in := tapPrefix + "+"
	rules := [][]string{
		{"iptables", "-t", "mangle", "-A", "PREROUTING", "-i", in, "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", "42", "--queue-bypass"},
		{"ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", in, "-p", "icmpv6", "--icmpv6-type", "router-solicitation", "-j", "NFQUEUE", "--queue-num", "43", "--queue-bypass"},
		{"ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", in, "-p", "icmpv6", "--icmpv6-type", "neighbour-solicitation", "-j", "NFQUEUE", "--queue-num", "44", "--queue-bypass"},
		{"ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", in, "-p", "udp", "--dport", "547", "-j", "NFQUEUE", "--queue-num", "45", "--queue-bypass"},
	}
	for _, r := range rules {
		if err := runCmd(ctx, nil, append([]string{"ip", "netns", "exec", t.hv}, r...)...); err != nil {
			return err
		}
	}
	return nil
}

func (t *topology) close() {
	for _, ns := range []string{t.hv, t.guests} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

func runCmd(ctx context.Context, stdin *bytes.Buffer, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
