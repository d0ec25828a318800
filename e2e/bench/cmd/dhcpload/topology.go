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

// The addresses of the benchmark's links, from the documentation ranges.
// Client VM i (from 0) is on TAP tapbench<i> with MAC 52:54:00:00:be:<i+1>
// and address 192.0.2.<10+i>.
const (
	tapPrefix = "tapbench"
	hostAddr  = "192.0.2.1"
	prefixLen = "24"
	queueNum  = 42
	// idlePrefix names the TAPs of the host's other VMs, which exist and
	// are configured but send nothing.
	idlePrefix = "tapidle"
)

// A topology is the namespaces the benchmark runs in: the "hypervisor",
// which holds the TAP-like ends of veth pairs and the server under test,
// and one namespace per client VM, which holds eth0 and that VM's
// perfdhcp. Several clients, each with its own socket, its own TAP and its
// own perfdhcp, let the load outrun what one perfdhcp can take, so that
// the server, not the client, sets the rate.
//
// A host runs many VMs: idle TAPs (taps-clients of them, with no VM
// behind) make the hypervisor namespace as big as such a host's. Every TAP
// carries an address, as every TAP a dnsmasq or Kea serves must, without
// its prefix route: the idle ones the gateway's, client TAP i
// 192.0.2.<1+i>; a /32 route leads to each client VM.
type topology struct {
	hv      string
	clients []client
	taps    int
	// mode is what loads the clients: clientGenerator or clientPerfdhcp.
	mode string
}

// The client modes.
const (
	clientGenerator = "generator"
	clientPerfdhcp  = "perfdhcp"
)

// A client is one loaded VM: its namespace, TAP, MAC and address, and
// the TAP's own address.
type client struct {
	ns, tap, mac, ip, tapAddr string
}

// newTopology creates the namespaces, named after the process id so that
// parallel runs and other engineers' tests never collide. On error it
// removes what it created.
func newTopology(ctx context.Context, taps, clients int, mode string) (*topology, error) {
	pid := os.Getpid()
	t := &topology{hv: fmt.Sprintf("perfbench-hv-%d", pid), taps: max(taps, clients, 1), mode: mode}
	if t.taps > maxTAPs {
		return nil, fmt.Errorf("dhcpload: at most %d TAPs: their VMs' addresses come from one /24", maxTAPs)
	}
	if clients > maxClients {
		return nil, fmt.Errorf("dhcpload: at most %d clients", maxClients)
	}
	for i := range max(clients, 1) {
		t.clients = append(t.clients, client{
			ns:  fmt.Sprintf("perfbench-vm-%d-%d", pid, i),
			tap: fmt.Sprintf("%s%d", tapPrefix, i),
			mac: fmt.Sprintf("52:54:00:00:be:%02x", i+1),
			ip:  fmt.Sprintf("192.0.2.%d", 10+i),
			// Kea binds a socket to each served interface's address:
			// two TAPs that carry traffic cannot share one. The idle
			// ones can (Kea skips them, having no carrier).
			tapAddr: fmt.Sprintf("192.0.2.%d", 1+i),
		})
	}
	steps := [][]string{
		{"ip", "netns", "add", t.hv},
		// No IPv6 on the links: router solicitations and DAD probes would
		// only add noise to the queue and the captures.
		{"ip", "netns", "exec", t.hv, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", t.hv, "link", "set", "lo", "up"},
	}
	for i, c := range t.clients {
		steps = append(steps,
			[]string{"ip", "netns", "add", c.ns},
			[]string{"ip", "-n", t.hv, "link", "add", c.tap, "type", "veth", "peer", "name", "eth0", "netns", c.ns},
			[]string{"ip", "netns", "exec", c.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
			[]string{"ip", "-n", c.ns, "link", "set", "lo", "up"},
			[]string{"ip", "-n", t.hv, "link", "set", c.tap, "address", fmt.Sprintf("fe:54:00:00:be:%02x", i+1), "up"},
			[]string{"ip", "-n", c.ns, "link", "set", "eth0", "address", c.mac, "up"},
			// dnsmasq and Kea need an address on the interface they serve.
			[]string{"ip", "-n", t.hv, "addr", "add", c.tapAddr + "/" + prefixLen, "dev", c.tap, "noprefixroute"},
			[]string{"ip", "-n", t.hv, "route", "add", c.ip + "/32", "dev", c.tap, "src", c.tapAddr},
		)
		if mode == clientPerfdhcp {
			// perfdhcp refuses an interface without an address; it then
			// acts as a relay with this address as giaddr. The
			// generator's VMs have none, as booting VMs: their kernel
			// then ignores the unicast replies instead of answering
			// them with port unreachable.
			steps = append(steps, []string{"ip", "-n", c.ns, "addr", "add", c.ip + "/" + prefixLen, "dev", "eth0"})
		}
	}
	for _, s := range steps {
		if err := runCmd(ctx, s...); err != nil {
			t.close()
			return nil, fmt.Errorf("dhcpload: topology: %w", err)
		}
	}
	if t.taps > len(t.clients) {
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
			return nil, fmt.Errorf("dhcpload: topology: %d idle TAPs: %w: %s", t.taps-len(t.clients), err, strings.TrimSpace(string(out)))
		}
	}
	return t, nil
}

// idleTAPs names the TAPs of the VMs that send nothing.
func (t *topology) idleTAPs() []string {
	names := make([]string, 0, t.taps-len(t.clients))
	for i := 1; i <= t.taps-len(t.clients); i++ {
		names = append(names, fmt.Sprintf("%s%d", idlePrefix, i))
	}
	return names
}

// close deletes the namespaces, and with them the veth pairs and any rule.
func (t *topology) close() {
	_ = exec.Command("ip", "netns", "del", t.hv).Run()
	for _, c := range t.clients {
		_ = exec.Command("ip", "netns", "del", c.ns).Run()
	}
}

// loadedTAPs names the TAPs of the client VMs.
func (t *topology) loadedTAPs() []string {
	var names []string
	for _, c := range t.clients {
		names = append(names, c.tap)
	}
	return names
}

// queueRule adds (add true) or deletes the rule that diverts the VM's
// DHCPv4 requests to the queue (every client TAP: the "+" wildcard). --queue-bypass lets packets through while
// no program has the queue open, as in production.
func (t *topology) queueRule(ctx context.Context, add bool) error {
	op := "-A"
	if !add {
		op = "-D"
	}
	return runCmd(ctx, "ip", "netns", "exec", t.hv, "iptables", "-t", "mangle", op, "PREROUTING",
		"-i", tapPrefix+"+", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queueNum), "--queue-bypass")
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
// /24 the benchmark uses, after the gateway, DNS and the first client.
const maxTAPs = 241

// maxClients is how many client TAPs get an address of their own below
// the first VM's (192.0.2.1 to .8).
const maxClients = 8

// vms returns the client VMs first, then one per idle TAP.
func (t *topology) vms() []vm {
	var vms []vm
	for i, c := range t.clients {
		vms = append(vms, vm{tap: c.tap, mac: c.mac, ip: c.ip, hostname: fmt.Sprintf("benchvm%d", i)})
	}
	for i, name := range t.idleTAPs() {
		n := i + 1
		host := 10 + len(t.clients) - 1 + n
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

// clientOverflows returns the client namespaces' count of UDP datagrams
// dropped for a full socket buffer (Udp RcvbufErrors in /proc/net/snmp):
// perfdhcp's socket is the only one in each.
func (t *topology) clientOverflows() (int, error) {
	total := 0
	for _, c := range t.clients {
		out, err := exec.Command("ip", "netns", "exec", c.ns, "cat", "/proc/net/snmp").Output()
		if err != nil {
			return 0, fmt.Errorf("dhcpload: read the VM's UDP counters: %w", err)
		}
		n, err := snmpCounter(string(out), "Udp", "RcvbufErrors")
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
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
