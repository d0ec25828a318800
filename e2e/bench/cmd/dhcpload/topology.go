package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
	// idlePrefix names the TAPs of the host's other VMs, which exist and
	// are configured but send nothing.
	idlePrefix = "tapidle"
)

// A topology is the pair of namespaces the benchmark runs in: the
// "hypervisor", which holds the TAP-like end of a veth pair and the server
// under test, and the "VM", which holds eth0 and perfdhcp.
//
// A host runs many VMs: idle TAPs (taps-1 of them, with no VM behind) make
// the hypervisor namespace as big as such a host's. Each carries the
// gateway's address, as every TAP a dnsmasq or Kea serves must, without
// its prefix route, so that replies still leave through the loaded TAP.
type topology struct {
	hv, vm string
	taps   int
}

// newTopology creates both namespaces, named after the process id so that
// parallel runs and other engineers' tests never collide. On error it
// removes what it created.
func newTopology(ctx context.Context, taps int) (*topology, error) {
	t := &topology{
		hv:   fmt.Sprintf("perfbench-hv-%d", os.Getpid()),
		vm:   fmt.Sprintf("perfbench-vm-%d", os.Getpid()),
		taps: max(taps, 1),
	}
	if t.taps > maxTAPs {
		return nil, fmt.Errorf("dhcpload: at most %d TAPs: their VMs' addresses come from one /24", maxTAPs)
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
	if t.taps > 1 {
		// One ip process for all of them: one per interface would take
		// minutes.
		var batch bytes.Buffer
		for _, name := range t.idleTAPs() {
			fmt.Fprintf(&batch, "tuntap add %s mode tap\nlink set %s up\naddr add %s/%s dev %s noprefixroute\n",
				name, name, hostAddr, prefixLen, name)
		}
		cmd := exec.CommandContext(ctx, "ip", "-n", t.hv, "-batch", "-")
		cmd.Stdin = &batch
		if out, err := cmd.CombinedOutput(); err != nil {
			t.close()
			return nil, fmt.Errorf("dhcpload: topology: %d idle TAPs: %w: %s", t.taps-1, err, strings.TrimSpace(string(out)))
		}
	}
	return t, nil
}

// idleTAPs names the TAPs of the VMs that send nothing.
func (t *topology) idleTAPs() []string {
	names := make([]string, 0, t.taps-1)
	for i := 1; i < t.taps; i++ {
		names = append(names, fmt.Sprintf("%s%d", idlePrefix, i))
	}
	return names
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

// A vm is what every server is told about one VM of the host.
type vm struct {
	tap, mac, ip, hostname string
}

// maxTAPs is how many VMs get distinct addresses in the one documentation
// /24 the benchmark uses, after the gateway, DNS and the loaded VM.
const maxTAPs = 241

// vms returns the loaded VM first, then one per idle TAP.
func (t *topology) vms() []vm {
	vms := []vm{{tap: tapName, mac: vmMAC, ip: vmAddr, hostname: "benchvm"}}
	for i, name := range t.idleTAPs() {
		n := i + 1
		host := 10 + n
		if host >= 53 { // 192.0.2.53 is the DNS server handed out
			host++
		}
		vms = append(vms, vm{
			tap:      name,
			mac:      fmt.Sprintf("52:54:00:01:%02x:%02x", n>>8, n&0xff),
			ip:       fmt.Sprintf("192.0.2.%d", host),
			hostname: fmt.Sprintf("idlevm%d", n),
		})
	}
	return vms
}

// clientOverflows returns the VM namespace's count of UDP datagrams
// dropped for a full socket buffer (Udp RcvbufErrors in /proc/net/snmp):
// perfdhcp's socket is the only one there.
func (t *topology) clientOverflows() (int, error) {
	out, err := exec.Command("ip", "netns", "exec", t.vm, "cat", "/proc/net/snmp").Output()
	if err != nil {
		return 0, fmt.Errorf("dhcpload: read the VM's UDP counters: %w", err)
	}
	return snmpCounter(string(out), "Udp", "RcvbufErrors")
}

// snmpCounter finds one counter in /proc/net/snmp, whose sections are a
// line of names followed by a line of values, both prefixed "Section:".
func snmpCounter(snmp, section, name string) (int, error) {
	var names []string
	for _, line := range strings.Split(snmp, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != section+":" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == name && i < len(f) {
				return strconv.Atoi(f[i])
			}
		}
		break
	}
	return 0, fmt.Errorf("dhcpload: no %s %s counter in /proc/net/snmp", section, name)
}
