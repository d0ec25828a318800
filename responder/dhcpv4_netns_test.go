package responder_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// A dhcpv4Link is a host namespace whose interface near0 stands for a TAP,
// joined by a veth pair to a VM namespace whose interface (with a unique
// name, because dhcpcd keeps its leases by interface name in
// /var/lib/dhcpcd) has the VM's MAC and no address.
type dhcpv4Link struct {
	host, vm string
	vmIf     string
}

func dhcpv4NewLink(t *testing.T) dhcpv4Link {
	t.Helper()
	netnstest.RequireRoot(t)
	suffix := netnstest.RandomHex(3)
	l := dhcpv4Link{host: "dhcpv4-host-" + suffix, vm: "dhcpv4-vm-" + suffix, vmIf: "v4vm" + suffix}
	for _, ns := range []string{l.host, l.vm} {
		// NewNamespace also ends the helper processes clients such as
		// dhcpcd leave behind, which would outlive the namespace.
		netnstest.NewNamespace(t, ns)
	}
	t.Cleanup(func() { os.Remove(filepath.Join("/var/lib/dhcpcd", l.vmIf+".lease")) })
	netnstest.Run(t, "ip", "-n", l.host, "link", "add", "near0", "type", "veth", "peer", "name", l.vmIf, "netns", l.vm)
	netnstest.Run(t, "ip", "-n", l.vm, "link", "set", l.vmIf, "address", dhcpv4VMMAC.String())
	netnstest.Run(t, "ip", "-n", l.host, "link", "set", "near0", "up")
	netnstest.Run(t, "ip", "-n", l.vm, "link", "set", l.vmIf, "up")
	netnstest.Run(t, "ip", "netns", "exec", l.host, "iptables", "-t", "mangle", "-A", "PREROUTING",
		"-i", "near0", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", "42")
	return l
}

// dhcpv4Serve runs a responder answering the host namespace's queue 42
// with a for near0 until the test ends.
func dhcpv4Serve(t *testing.T, l dhcpv4Link, a *binding.Active, o responder.Options) {
	t.Helper()
	var (
		sender *responder.PacketSender
		near0  *net.Interface
		err    error
	)
	netnstest.InNS(t, l.host, func() {
		if sender, err = responder.NewSender(); err != nil {
			return
		}
		near0, err = net.InterfaceByName("near0")
	})
	if err != nil {
		t.Fatalf("sender in %s: %v", l.host, err)
	}
	t.Cleanup(func() { sender.Close() })
	a.Name, a.Indev, a.TapIndex, a.IndevMAC = "near0", "near0", near0.Index, near0.HardwareAddr

	ns, err := netns.GetFromName(l.host)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := responder.OpenQueue(42, log, responder.WithNetNS(int(ns)))
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, o, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, responder.KindDHCPv4, q) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// dhcpv4Client runs a real DHCP client in the VM namespace until its hook
// script has logged a line containing done, and returns everything the
// script saw (its argument and environment at every call).
func dhcpv4Client(t *testing.T, l dhcpv4Link, done string, cmd func(script string) []string) string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "hook")
	logPath := filepath.Join(dir, "hook.log")
	// Only the variables the clients pass on: the rest of the
	// environment is the test runner's and of no interest.
	hook := "#!/bin/sh\n{ echo \"ARG1=$1\"; env | grep -E '^(reason|ip|subnet|router|broadcast|dns|hostname|domain|mtu|serverid|lease|staticroutes|new_[a-z0-9_]+)=' | sort; echo ----; } >> " + logPath + "\n"
	if err := os.WriteFile(script, []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"netns", "exec", l.vm}, cmd(script)...)
	c := exec.Command("ip", args...)
	out := &strings.Builder{}
	c.Stdout, c.Stderr = out, out
	// dhcpcd's forked helpers keep the output pipe open after the client
	// itself exits: do not let Wait block on them.
	c.WaitDelay = 2 * time.Second
	if err := c.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	exited := make(chan struct{})
	go func() { c.Wait(); close(exited) }()
	stop := func() {
		// ip netns exec execs the client itself: this pid is the client.
		c.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-exited
		}
	}
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// The hook writes in several steps: the call is complete at its
		// "----" line.
		b, _ := os.ReadFile(logPath)
		if i := strings.Index(string(b), done); i >= 0 && strings.Contains(string(b[i:]), "----") {
			return string(b)
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("client %v exited before %q:\n%s\nhook log:\n%s", args, done, out, b)
		case <-time.After(100 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("client %v: no %q within 30s:\n%s\nhook log:\n%s", args, done, out, b)
	return ""
}

// TestDHCPv4RealClients runs udhcpc, dhclient and dhcpcd against the
// responder through a real NFQUEUE rule and AF_PACKET sender, and checks
// that each configures what the binding says.
func TestDHCPv4RealClients(t *testing.T) {
	flat := func(a *binding.Active) {}
	routed := func(a *binding.Active) {
		a.Subnet = netip.MustParsePrefix("192.0.2.10/32")
		a.Gateway = netip.MustParseAddr("198.51.100.1")
	}
	tests := []struct {
		name    string
		client  string
		binding func(*binding.Active)
		vmAddr  string // configured on the VM's interface before the client runs
		done    string
		cmd     func(ifname, script, dir string) []string
		want    []string
	}{{
		name: "udhcpc", client: "udhcpc", binding: flat, done: "ARG1=bound",
		cmd: func(ifname, script, _ string) []string {
			return []string{"udhcpc", "-f", "-i", ifname, "-t", "5", "-T", "2", "-s", script, "-O", "mtu"}
		},
		want: []string{"ip=192.0.2.10", "subnet=255.255.255.0", "router=192.0.2.1", "broadcast=192.0.2.255",
			"dns=198.51.100.53", "hostname=vm7.example.net", "domain=example.net", "mtu=1450", "serverid=198.51.100.1",
			"lease=604800"},
	}, {
		name: "udhcpc routed /32", client: "udhcpc", binding: routed, done: "ARG1=bound",
		cmd: func(ifname, script, _ string) []string {
			return []string{"udhcpc", "-f", "-i", ifname, "-t", "5", "-T", "2", "-s", script, "-O", "staticroutes"}
		},
		want: []string{"ip=192.0.2.10", "subnet=255.255.255.255", "router=198.51.100.1",
			"staticroutes=198.51.100.1/32 0.0.0.0 0.0.0.0/0 198.51.100.1"},
	}, {
		name: "dhclient", client: "dhclient", binding: flat, done: "reason=BOUND",
		cmd: func(ifname, script, dir string) []string {
			return []string{"dhclient", "-4", "-d", "-1", "-sf", script, "-lf", filepath.Join(dir, "leases"),
				"-pf", filepath.Join(dir, "pid"), ifname}
		},
		want: []string{"new_ip_address=192.0.2.10", "new_subnet_mask=255.255.255.0", "new_routers=192.0.2.1",
			"new_domain_name_servers=198.51.100.53", "new_host_name=vm7.example.net", "new_domain_name=example.net",
			"new_interface_mtu=1450", "new_dhcp_server_identifier=198.51.100.1", "new_dhcp_lease_time=604800",
			"new_dhcp_renewal_time=600", "new_dhcp_rebinding_time=529200"},
	}, {
		name: "dhclient routed /32", client: "dhclient", binding: routed, done: "reason=BOUND",
		cmd: func(ifname, script, dir string) []string {
			return []string{"dhclient", "-4", "-d", "-1", "-sf", script, "-lf", filepath.Join(dir, "leases"),
				"-pf", filepath.Join(dir, "pid"), ifname}
		},
		want: []string{"new_ip_address=192.0.2.10", "new_subnet_mask=255.255.255.255", "new_routers=198.51.100.1",
			"new_rfc3442_classless_static_routes=32 198 51 100 1 0 0 0 0 0 198 51 100 1"},
	}, {
		name: "dhcpcd", client: "dhcpcd", binding: flat, done: "reason=BOUND",
		cmd: func(ifname, script, _ string) []string {
			return []string{"dhcpcd", "-4", "-B", "-t", "20", "--noarp", "-c", script, ifname}
		},
		want: []string{"new_ip_address=192.0.2.10", "new_subnet_cidr=24", "new_routers=192.0.2.1",
			"new_domain_name_servers=198.51.100.53", "new_host_name=vm7.example.net", "new_domain_name=example.net",
			"new_interface_mtu=1450", "new_dhcp_server_identifier=198.51.100.1", "new_dhcp_lease_time=604800"},
	}, {
		name: "dhcpcd routed /32", client: "dhcpcd", binding: routed, done: "reason=BOUND",
		cmd: func(ifname, script, _ string) []string {
			return []string{"dhcpcd", "-4", "-B", "-t", "20", "--noarp", "-c", script, ifname}
		},
		want: []string{"new_ip_address=192.0.2.10", "new_subnet_cidr=32",
			"new_classless_static_routes=198.51.100.1/32 0.0.0.0 0.0.0.0/0 198.51.100.1"},
	}, {
		name: "dhcpcd inform", client: "dhcpcd", binding: flat, vmAddr: "192.0.2.10/24", done: "reason=INFORM",
		cmd: func(ifname, script, _ string) []string {
			return []string{"dhcpcd", "-4", "-B", "-t", "20", "--noarp", "-c", script, "--inform", "192.0.2.10/24", ifname}
		},
		want: []string{"new_routers=192.0.2.1", "new_domain_name_servers=198.51.100.53", "new_domain_name=example.net",
			"new_dhcp_server_identifier=198.51.100.1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath(tt.client); err != nil {
				netnstest.MissingPrerequisite(t, "need %s: %v", tt.client, err)
			}
			l := dhcpv4NewLink(t)
			if tt.vmAddr != "" {
				netnstest.Run(t, "ip", "-n", l.vm, "addr", "add", tt.vmAddr, "dev", l.vmIf)
			}
			a := dhcpv4Binding()
			tt.binding(a)
			dhcpv4Serve(t, l, a, dhcpv4Options())
			dir := t.TempDir()
			got := dhcpv4Client(t, l, tt.done, func(script string) []string { return tt.cmd(l.vmIf, script, dir) })
			// Only the call that reported the lease counts.
			call := got
			if i := strings.Index(call, tt.done); i >= 0 {
				call = call[strings.LastIndex(call[:i+len("ARG1=")], "ARG1="):]
			}
			call, _, _ = strings.Cut(call, "----")
			for _, w := range tt.want {
				if !strings.Contains("\n"+call+"\n", "\n"+w+"\n") {
					t.Errorf("%s did not configure %q; hook environment:\n%s", tt.client, w, call)
				}
			}
		})
	}
}
