package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Names and addresses of the scale topology.
const (
	probeTap  = "tapprobe"
	probeMAC  = "52:54:00:ff:00:01"
	probeIP   = "192.0.2.10"
	probeGW   = "192.0.2.1"
	queueNum  = 42
	tapPrefix = "tap"
)

// A topology is a hypervisor namespace holding many persistent TAP
// interfaces, with no process attached (a binding is active only while its
// interface exists), and one veth pair to a VM namespace, through which the
// probe client asks for an address.
type topology struct {
	hv, vm string
}

func newTopology(ctx context.Context, taps int) (*topology, error) {
	t := &topology{
		hv: fmt.Sprintf("perfscale-hv-%d", os.Getpid()),
		vm: fmt.Sprintf("perfscale-vm-%d", os.Getpid()),
	}
	steps := [][]string{
		{"ip", "netns", "add", t.hv},
		{"ip", "netns", "add", t.vm},
		{"ip", "netns", "exec", t.hv, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "netns", "exec", t.vm, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", t.hv, "link", "add", probeTap, "type", "veth", "peer", "name", "eth0", "netns", t.vm},
		{"ip", "-n", t.hv, "link", "set", probeTap, "up"},
		{"ip", "-n", t.vm, "link", "set", "lo", "up"},
		{"ip", "-n", t.vm, "link", "set", "eth0", "address", probeMAC, "up"},
		// The probe's socket needs a source address and receives the
		// unicast OFFER to the bound address.
		{"ip", "-n", t.vm, "addr", "add", probeIP + "/24", "dev", "eth0"},
		{"ip", "netns", "exec", t.hv, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", probeTap,
			"-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queueNum), "--queue-bypass"},
	}
	for _, s := range steps {
		if err := runCmd(ctx, nil, s...); err != nil {
			t.close()
			return nil, fmt.Errorf("scale: topology: %w", err)
		}
	}
	// One ip process adds all the TAPs: one process per interface
	// would take minutes.
	var batch bytes.Buffer
	for i := range taps {
		fmt.Fprintf(&batch, "tuntap add %s mode tap\nlink set %s up\n", tapName(i), tapName(i))
	}
	if err := runCmd(ctx, &batch, "ip", "-n", t.hv, "-batch", "-"); err != nil {
		t.close()
		return nil, fmt.Errorf("scale: topology: %w", err)
	}
	return t, nil
}

func tapName(i int) string { return fmt.Sprintf("%s%d", tapPrefix, i) }

func (t *topology) close() {
	for _, ns := range []string{t.hv, t.vm} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

func runCmd(ctx context.Context, stdin *bytes.Buffer, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
