package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// The addresses of the benchmark's link, from the documentation ranges.
const (
	vmMAC     = "52:54:00:00:be:01"
	tapMAC    = "fe:54:00:00:be:01"
	tapName   = "tapbench0"
	hostAddr  = "192.0.2.1"
	vmAddr    = "192.0.2.10"
	prefixLen = "24"
	queueNum  = 42
)

// A topology is the pair of namespaces the benchmark runs in: the
// "hypervisor", which holds the TAP-like end of a veth pair and the server
// under test, and the "VM", which holds eth0 and perfdhcp.
type topology struct {
	hv, vm string
}

// newTopology creates both namespaces, named after the process id so that
// parallel runs and other engineers' tests never collide. On error it
// removes what it created.
func newTopology(ctx context.Context) (*topology, error) {
	t := &topology{
		hv: fmt.Sprintf("perfbench-hv-%d", os.Getpid()),
		vm: fmt.Sprintf("perfbench-vm-%d", os.Getpid()),
	}
	steps := [][]string{
		{"ip", "netns", "add", t.hv},
		{"ip", "netns", "add", t.vm},
		{"ip", "-n", t.hv, "link", "add", tapName, "type", "veth", "peer", "name", "eth0", "netns", t.vm},
		// No IPv6 on the link: router solicitations and DAD probes would
		// only add noise to the queue and the captures.
		{"ip", "netns", "exec", t.hv, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "netns", "exec", t.vm, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", t.hv, "link", "set", "lo", "up"},
		{"ip", "-n", t.vm, "link", "set", "lo", "up"},
		{"ip", "-n", t.hv, "link", "set", tapName, "address", tapMAC, "up"},
		{"ip", "-n", t.vm, "link", "set", "eth0", "address", vmMAC, "up"},
		// dnsmasq and Kea need an address on the interface they serve.
		{"ip", "-n", t.hv, "addr", "add", hostAddr + "/" + prefixLen, "dev", tapName},
		// perfdhcp refuses an interface without an address; it then acts
		// as a relay with this address as giaddr.
		{"ip", "-n", t.vm, "addr", "add", vmAddr + "/" + prefixLen, "dev", "eth0"},
	}
	for _, s := range steps {
		if err := runCmd(ctx, s...); err != nil {
			t.close()
			return nil, fmt.Errorf("dhcpload: topology: %w", err)
		}
	}
	return t, nil
}

// close deletes both namespaces, and with them the veth pair and any rule.
func (t *topology) close() {
	for _, ns := range []string{t.hv, t.vm} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

// queueRule adds (add true) or deletes the rule that diverts the VM's
// DHCPv4 requests to the queue. --queue-bypass lets packets through while
// no program has the queue open, as in production.
func (t *topology) queueRule(ctx context.Context, add bool) error {
	op := "-A"
	if !add {
		op = "-D"
	}
	return runCmd(ctx, "ip", "netns", "exec", t.hv, "iptables", "-t", "mangle", op, "PREROUTING",
		"-i", tapName, "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queueNum), "--queue-bypass")
}

// runCmd runs a command to completion, returning its output in the error.
func runCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
