package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/e2e/bench"
)

// A server is what answers the storm: nfdhcpd alone, or dnsmasq (DHCPv4
// and stateless DHCPv6) with radvd (RAs), configured for the same VMs.
type server struct {
	name string
	// start writes the configuration into dir and starts the processes
	// in the hypervisor namespace.
	start func(ctx context.Context, t *topology, dir string) ([]*process, error)
	// ready reports whether the processes serve.
	ready func(t *topology, ps []*process) bool
}

func servers(nfdhcpdBin string) []server {
	return []server{
		{name: "nfdhcpd", start: func(ctx context.Context, t *topology, dir string) ([]*process, error) {
			return startNfdhcpd(ctx, nfdhcpdBin, t, dir)
		}, ready: func(t *topology, ps []*process) bool {
			return strings.Contains(ps[0].Output(), "ready to serve requests") && queuesBound(t, 42, 43, 44, 45)
		}},
		{name: "dnsmasq+radvd", start: startDnsmasqRadvd, ready: func(t *topology, ps []*process) bool {
			_, err := os.Stat(ps[1].pidFile)
			return err == nil && listening(t, "/proc/net/udp", 67) && listening(t, "/proc/net/udp6", 547)
		}},
	}
}

func startNfdhcpd(ctx context.Context, bin string, t *topology, dir string) ([]*process, error) {
	data := filepath.Join(dir, "bindings")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	for _, v := range t.vms {
		b := fmt.Sprintf("MAC=%s\nIP=%s\nSUBNET=192.0.2.0/24\nGATEWAY=%s\nHOSTNAME=%s.example.org\nSUBNET6=%s\nGATEWAY6=%s\n",
			v.mac, v.ip, hostAddr, v.hostname, v.prefix, v.gateway6())
		if err := os.WriteFile(filepath.Join(data, v.tap), []byte(b), 0o644); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`[general]
datapath = %s
pidfile = %s
control_socket = %s
[dhcp]
enable_dhcp = yes
dhcp_queue = 42
lease_lifetime = 604800
lease_renewal = 600
server_on_link = yes
nameservers = 192.0.2.53
domain = example.org
[ipv6]
enable_ipv6 = yes
mode = slaac+dhcpv6
ra_period = 600
rs_queue = 43
ns_queue = 44
dhcpv6_queue = 45
nameservers = 2001:db8::53
domains = example.org
`, data, filepath.Join(dir, "nfdhcpd.pid"), filepath.Join(dir, "nfdhcpd.sock"))
	path := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := t.queueRules(ctx); err != nil {
		return nil, err
	}
	p, err := start(t, "nfdhcpd", dir, bin, "-c", path, "-f")
	if err != nil {
		return nil, err
	}
	return []*process{p}, nil
}

// startDnsmasqRadvd runs dnsmasq and radvd as their users run them:
// dnsmasq with a dhcp-host per VM, a lease file, every TAP an interface,
// stateless DHCPv6 on the TAPs' prefixes; radvd with a stanza per TAP
// announcing its prefix with the O flag, RDNSS and DNSSL. DNS is off and
// neither logs per packet, as for nfdhcpd.
func startDnsmasqRadvd(ctx context.Context, t *topology, dir string) ([]*process, error) {
	args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--bind-interfaces",
		"--dhcp-range=192.0.2.0,static,255.255.255.0,604800",
		"--dhcp-range=::,constructor:" + tapPrefix + "*,static,64,604800",
		"--dhcp-option=option:router," + hostAddr,
		"--dhcp-option=option:dns-server,192.0.2.53",
		"--dhcp-option=option6:dns-server,[2001:db8::53]",
		"--dhcp-option=option6:domain-search,example.org",
		"--domain=example.org",
		"--dhcp-leasefile=" + filepath.Join(dir, "dnsmasq.leases"),
		"--no-ping", "--dhcp-authoritative", "--quiet-dhcp", "--quiet-dhcp6",
		"--log-facility=" + filepath.Join(dir, "dnsmasq.log"),
		"--pid-file=" + filepath.Join(dir, "dnsmasq.pid"),
	}
	var radvd strings.Builder
	for _, v := range t.vms {
		args = append(args, "--interface="+v.tap, fmt.Sprintf("--dhcp-host=%s,%s,%s", v.mac, v.ip, v.hostname))
		// Unsolicited RAs rarely (the storm measures the solicited ones);
		// everything else is radvd's default.
		fmt.Fprintf(&radvd, `interface %s {
	AdvSendAdvert on;
	MinRtrAdvInterval 200;
	MaxRtrAdvInterval 600;
	AdvOtherConfigFlag on;
	prefix %s { AdvOnLink on; AdvAutonomous on; };
	RDNSS 2001:db8::53 { };
	DNSSL example.org { };
};
`, v.tap, v.prefix)
	}
	conf := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(conf, []byte(radvd.String()), 0o644); err != nil {
		return nil, err
	}
	d, err := start(t, "dnsmasq", dir, args...)
	if err != nil {
		return nil, err
	}
	pid := filepath.Join(dir, "radvd.pid")
	r, err := start(t, "radvd", dir, "radvd", "-n", "-C", conf, "-p", pid, "-m", "logfile", "-l", filepath.Join(dir, "radvd.log"))
	if err != nil {
		d.Stop()
		return nil, err
	}
	r.pidFile = pid
	return []*process{d, r}, nil
}

// A process is a server running in the hypervisor namespace.
type process struct {
	*bench.Process
	pidFile string
}

// start runs args in the hypervisor namespace.
func start(t *topology, name, dir string, args ...string) (*process, error) {
	p, err := bench.Start(t.hv, filepath.Join(dir, name+".out"), nil, args...)
	if err != nil {
		return nil, fmt.Errorf("bootstorm: start %s: %w", name, err)
	}
	return &process{Process: p}, nil
}

// cpuSeconds is the user and system time of the process and its
// children, from /proc (USER_HZ = 100).
func (p *process) cpuSeconds() float64 {
	return treeCPU(p.Cmd.Process.Pid)
}

func treeCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	total := float64(u+st) / 100
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, c := range tasks {
		b, _ := os.ReadFile(c)
		for _, child := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(child); err == nil {
				total += treeCPU(n)
			}
		}
	}
	return total
}

// queuesBound reports whether every queue has a listener in the
// hypervisor namespace.
func queuesBound(t *topology, nums ...int) bool {
	out, err := exec.Command("ip", "netns", "exec", t.hv, "cat", "/proc/net/netfilter/nfnetlink_queue").Output()
	if err != nil {
		return false
	}
	bound := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			bound[f[0]] = true
		}
	}
	for _, n := range nums {
		if !bound[strconv.Itoa(n)] {
			return false
		}
	}
	return true
}

// listening reports whether a UDP socket of the hypervisor namespace has
// local port port (table: /proc/net/udp or udp6).
func listening(t *topology, table string, port int) bool {
	out, err := exec.Command("ip", "netns", "exec", t.hv, "cat", table).Output()
	if err != nil {
		return false
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1], suffix) {
			return true
		}
	}
	return false
}
