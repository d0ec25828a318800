package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// The address keys of issue 13 in the routed topology of TestRoutedSetup.
// The internet host gets IPv6 and routes back to the routed networks, so
// that it can reach the VMs' own addresses, not only be reached through
// NAT. Prefixes reach the router by the operator's route (announce =
// proxy): `ip route add PREFIX via VM-ADDRESS dev eth1` on the router.
const (
	adRouterWAN6 = "2001:db8:ff::1"
	adInternet6  = "2001:db8:ff::2"
	// adTapLL is the link-local address of every TAP (rtTapMAC): the
	// VMs' IPv6 router.
	adTapLL = "fe80::fcff:ffff:feff:ffff"
)

// newAddrTopology is the routed topology with namespaces of its own, the
// internet host on IPv6 and routes on it back to the routed networks.
func newAddrTopology(t *testing.T) *routedTopology {
	t.Helper()
	rt := newRoutedTopologyNamed(t, "adr")
	rt.router.Run(t, "ip", "-6", "addr", "add", adRouterWAN6+"/64", "dev", "eth0", "nodad")
	rt.internet.Run(t, "ip", "-6", "addr", "add", adInternet6+"/64", "dev", "eth0", "nodad")
	rt.internet.Run(t, "ip", "-6", "route", "add", "default", "via", adRouterWAN6)
	rt.internet.Run(t, "ip", "route", "add", rtSubnet, "via", "198.51.100.1")
	return rt
}

// operatorRoute adds the operator's route of a prefix routed through a VM
// on the router (via the VM's address, which the VM host answers for on
// the shared uplink), and the internet host's route to it.
func operatorRoute(t *testing.T, rt *routedTopology, prefix, via string) {
	t.Helper()
	rt.router.Run(t, "ip", "route", "replace", prefix, "via", via, "dev", "eth1")
	wan := "198.51.100.1"
	if strings.Contains(prefix, ":") {
		wan = adRouterWAN6
	}
	rt.internet.Run(t, "ip", "route", "replace", prefix, "via", wan)
}

// addrVM returns a VM of the topology with its own namespace.
func addrVM(t *testing.T, tap, mac, ip string) *routedVM {
	t.Helper()
	vm := newRoutedVM(t, tap, mac, ip)
	vm.NS = newNetns(t, "adr-vm")
	return vm
}

// addrBinding is vm's binding file plus the address keys kv.
func addrBinding(vm *routedVM, kv ...string) string {
	return vm.bindingFile() + bindingFile(kv...)
}

// reachableAll checks that from reaches every address of to within the
// deadline, reporting the ones it does not.
func reachableAll(t *testing.T, what string, from *Netns, deadline time.Time, to ...string) {
	t.Helper()
	for _, dst := range to {
		if !reachable(from, dst, max(time.Until(deadline), 0)) {
			t.Errorf("%s: %s cannot reach %s", what, from.Name, dst)
		}
	}
}

// addOwnAddresses configures the addresses of the VM's keys the way a
// guest or cloud-init would: extra addresses on eth0, addresses of routed
// prefixes on the loopback.
func addOwnAddresses(t *testing.T, vm *routedVM, eth0 []string, inside []string) {
	t.Helper()
	for _, a := range eth0 {
		vm.NS.Run(t, "ip", "addr", "replace", a, "dev", "eth0", "nodad")
	}
	// Addresses of routed prefixes live on the loopback (the kernels of
	// the build hosts have no dummy interfaces).
	for _, a := range inside {
		vm.NS.Run(t, "ip", "addr", "replace", a, "dev", "lo")
	}
}

func TestAddresses(t *testing.T) {
	parent := t
	rt := newAddrTopology(t)
	host := rt.vmc[0]
	vm := addrVM(t, "tap0", "52:54:00:00:0d:01", "192.0.2.30")
	const ips1, ips2, ips6 = "192.0.2.31", "192.0.2.32", "2001:db8:1::31"
	attachVM(t, host, vm)
	host.Daemon.WriteBinding(t, vm.Tap, addrBinding(vm, "IPS", ips1+", "+ips2, "IPS6", ips6))
	waitRouted(t, host, vm, true)
	configureVM(t, vm)
	vm.NS.Run(t, "ip", "addr", "add", ips1+"/32", "dev", "eth0")
	vm.NS.Run(t, "ip", "addr", "add", ips2+"/32", "dev", "eth0")
	// With DAD: the daemon must leave the solicitation for IPS6 unanswered.
	vm.NS.Run(t, "ip", "-6", "addr", "add", ips6+"/64", "dev", "eth0")
	waitUntil(t, 5*time.Second, "DAD of "+ips6, func() bool {
		out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0")
		return strings.Contains(out, ips6+"/64") && !strings.Contains(out, "tentative")
	})
	if out := vm.NS.Run(t, "ip", "-6", "addr", "show", "dev", "eth0"); strings.Contains(out, "dadfailed") {
		t.Fatalf("an address of the VM failed DAD:\n%s", out)
	}

	t.Run("every address is reachable from the router and the internet host", func(t *testing.T) {
		deadline := time.Now().Add(3 * time.Second)
		reachableAll(t, "router", rt.router, deadline, vm.IP, ips1, ips2, vm.EUI64, ips6)
		reachableAll(t, "internet host", rt.internet, deadline, vm.IP, ips1, ips2, vm.EUI64, ips6)
	})

	t.Run("a source the VM does not own is dropped", func(t *testing.T) {
		checkSpoofDropped(t, rt.router, vm.NS, ips2)
	})

	t.Run("kill -9 and restart keep the extra addresses flowing", func(t *testing.T) {
		pingsLost := startPingStream(t, rt.router, ips2)
		host.Daemon.Signal(t, syscall.SIGKILL)
		<-host.Daemon.done
		// The new daemon outlives this subtest: the next one needs it.
		host.Daemon = startDaemon(parent, host.NS, host.Conf)
		host.Daemon.WaitLog(t, 5*time.Second, "routing module started")
		pingsLost()
		time.Sleep(500 * time.Millisecond)
		state := kernelState(t, host.NS)
		for entry, want := range map[string]int{ips1 + " dev tap0": 1, ips6 + " dev tap0": 1, ips6 + " dev eth1 proxy": 1, "@src4_tap0": 1} {
			if n := countLines(state, entry); n != want {
				t.Errorf("%q appears %d times after the restart, want %d:\n%s", entry, n, want, state)
			}
		}
	})

	t.Run("overlapping bindings are refused and the first keeps working", func(t *testing.T) {
		other := newRoutedVM(t, "tap7", "52:54:00:00:0d:07", "192.0.2.37")
		host.Daemon.WriteBinding(t, other.Tap, addrBinding(other, "IPS", ips2))
		line := host.Daemon.WaitLog(t, 3*time.Second, "file refused: its addresses overlap", "tap7")
		if !strings.Contains(line, "tap0") || !strings.Contains(line, "IPS "+ips2) {
			t.Errorf("the log line does not name the other binding and the address: %s", line)
		}
		socket := host.Conf["general"]["control_socket"]
		st := waitStatus(t, socket, "tap7 invalid", func(s opsStatus) bool {
			for _, b := range s.Bindings {
				if b.Name == "tap7" && b.State == "invalid" {
					return true
				}
			}
			return false
		})
		for _, b := range st.Bindings {
			if b.Name == "tap7" && !strings.Contains(b.Reason, "of binding tap0") {
				t.Errorf("tap7's reason does not name tap0: %q", b.Reason)
			}
		}
		out, _, _ := runNfdhcpd(t, "status", "-socket", socket)
		if !strings.Contains(out, "IPS="+ips1+","+ips2+" IPS6="+ips6) {
			t.Errorf("nfdhcpd status does not show tap0's addresses:\n%s", out)
		}
		if !reachable(rt.router, ips2, 2*time.Second) {
			t.Errorf("the first binding's %s is no longer reachable", ips2)
		}
		host.Daemon.RemoveBinding(t, other.Tap)
	})
}

// TestAddressesMigration moves a VM with every address key set to the
// other VM host: the router reaches every address within a second.
func TestAddressesMigration(t *testing.T) {
	rt := newAddrTopology(t)
	from, to := rt.vmc[0], rt.vmc[1]
	vm := addrVM(t, "tap1", "52:54:00:00:0e:01", "192.0.2.40")
	const (
		ips, ips6          = "192.0.2.41", "2001:db8:1::41"
		routed4, inRouted4 = "198.51.100.144/28", "198.51.100.145"
		routed6, inRouted6 = "2001:db8:200::/64", "2001:db8:200::1"
		deleg6, inDeleg6   = "2001:db8:100::/56", "2001:db8:100:1::1"
		prefix6, inPrefix6 = "2001:db8:2:1::/64", "2001:db8:2:1::1"
	)
	keys := []string{"IPS", ips, "IPS6", ips6, "ROUTED4", routed4, "ROUTED6", routed6, "DELEGATED6", deleg6, "PREFIX6", prefix6}
	configure := func() {
		addOwnAddresses(t, vm,
			[]string{vm.IP + "/24", ips + "/32", vm.EUI64 + "/64", ips6 + "/128", inPrefix6 + "/64"},
			[]string{inRouted4 + "/32", inRouted6 + "/128", inDeleg6 + "/128"})
		vm.NS.Run(t, "ip", "route", "replace", "default", "via", rtGateway)
		vm.NS.Run(t, "ip", "-6", "route", "replace", "default", "via", adTapLL, "dev", "eth0")
	}
	attachVM(t, from, vm)
	from.Daemon.WriteBinding(t, vm.Tap, addrBinding(vm, keys...))
	waitRouted(t, from, vm, true)
	configure()
	operatorRoute(t, rt, routed4, vm.IP)
	for _, p := range []string{routed6, deleg6, prefix6} {
		operatorRoute(t, rt, p, vm.EUI64)
	}
	every := []string{vm.IP, ips, inRouted4, vm.EUI64, ips6, inRouted6, inDeleg6, inPrefix6}
	reachableAll(t, "before the move, router", rt.router, time.Now().Add(5*time.Second), every...)
	reachableAll(t, "before the move, internet host", rt.internet, time.Now().Add(3*time.Second), every...)

	from.Daemon.RemoveBinding(t, vm.Tap)
	from.NS.Run(t, "ip", "link", "del", vm.Tap)
	vm.Tap = "tap2"
	attachVM(t, to, vm)
	configure()
	start := time.Now()
	to.Daemon.WriteBinding(t, vm.Tap, addrBinding(vm, keys...))
	reachableAll(t, "after the move, router", rt.router, start.Add(time.Second), every...)
	t.Logf("the router reached all %d addresses of the moved VM %v after its binding appeared", len(every), time.Since(start).Round(time.Millisecond))
	toMAC := linkMAC(t, to.NS, "eth1").String()
	for _, a := range []string{vm.IP, ips, vm.EUI64, ips6} {
		if neigh := rt.router.Run(t, "ip", "neigh", "show", a, "dev", "eth1"); !strings.Contains(neigh, toMAC) {
			t.Errorf("the router's neighbour entry of %s is %q, want the new host's %s", a, neigh, toMAC)
		}
	}
	// The old host holds nothing of the VM any more.
	if state := ipState(t, from.NS); strings.Contains(state, "198.51.100.144") || strings.Contains(state, ips6) || strings.Contains(state, "2001:db8:100::") {
		t.Errorf("the old host kept state of the moved VM:\n%s", state)
	}
}

// adDhclient runs `dhclient -6 -P` on the VM's eth0 in the background; its
// script appends the reason and the delegated prefix to the returned file.
func adDhclient(t *testing.T, vm *routedVM) (calls string) {
	t.Helper()
	requirePrereqs(t, "dhclient")
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := filepath.Join(dir, "script.sh")
	body := fmt.Sprintf("#!/bin/sh\necho \"reason=$reason prefix=$new_ip6_prefix\" >> %s\nexit 0\n", calls)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := vm.NS.Command(ctx, "dhclient", "-6", "-P", "-d", "-v", "-sf", script,
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), "eth0")
	var out netnstest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("dhclient: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("dhclient: %s", out.String())
		}
	})
	return calls
}

func waitFileMatch(t *testing.T, path string, timeout time.Duration, re *regexp.Regexp) string {
	t.Helper()
	var line string
	waitUntil(t, timeout, fmt.Sprintf("%s in %s", re, path), func() bool {
		data, _ := os.ReadFile(path)
		line = re.FindString(string(data))
		return line != ""
	})
	return line
}

func TestPrefixDelegation(t *testing.T) {
	rt := newAddrTopology(t)
	host := rt.vmc[0]
	// Renewals after 2 s (T1), so that the test sees one. The event
	// command notes the prefix6 events (issue 15).
	host.Daemon.Stop(t)
	host.Conf.set("dhcp", "lease_renewal", "2")
	host.Conf.set("dhcp", "lease_lifetime", "60")
	events := filepath.Join(t.TempDir(), "events")
	script := filepath.Join(filepath.Dir(events), "event.sh")
	writeFile(t, script, "#!/bin/sh\n[ \"$NFDHCPD_EVENT\" = prefix6 ] && echo \"prefix6 TAP=$TAP MAC=$MAC DELEGATED6=$DELEGATED6\" >> "+events+"\nexit 0\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	host.Conf.set("general", "event_command", script)
	host.Daemon = startDaemon(t, host.NS, host.Conf)
	socket := host.Conf["general"]["control_socket"]

	vm := addrVM(t, "tap0", "52:54:00:00:0f:01", "192.0.2.50")
	const deleg6 = "2001:db8:100::/56"
	attachVM(t, host, vm)
	host.Daemon.WriteBinding(t, vm.Tap, addrBinding(vm, "DELEGATED6", deleg6))
	waitRouted(t, host, vm, true)
	configureVM(t, vm)
	operatorRoute(t, rt, deleg6, vm.EUI64)

	t.Run("dhclient -P", func(t *testing.T) {
		calls := adDhclient(t, vm)
		waitFileMatch(t, calls, 10*time.Second, regexp.MustCompile(`(?m)^reason=BOUND6 prefix=`+regexp.QuoteMeta(deleg6)+`$`))

		// A network behind the VM, numbered from the delegated prefix.
		behind := newNetns(t, "adr-behind")
		vm.NS.Run(t, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", behind.Name)
		vm.NS.Run(t, "ip", "-6", "addr", "add", "2001:db8:100:1::1/64", "dev", "lan0", "nodad")
		vm.NS.Run(t, "ip", "link", "set", "lan0", "up")
		vm.NS.Run(t, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=2")
		vm.NS.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
		vm.NS.Run(t, "ip", "-6", "route", "replace", "default", "via", adTapLL, "dev", "eth0")
		behind.Run(t, "ip", "-6", "addr", "add", "2001:db8:100:1::2/64", "dev", "eth0", "nodad")
		behind.Run(t, "ip", "link", "set", "eth0", "up")
		behind.Run(t, "ip", "-6", "route", "add", "default", "via", "2001:db8:100:1::1")

		reachableAll(t, "behind the VM", behind, time.Now().Add(5*time.Second), adInternet6, rtGateway6)
		reachableAll(t, "internet host", rt.internet, time.Now().Add(3*time.Second), "2001:db8:100:1::2")

		waitFileMatch(t, calls, 10*time.Second, regexp.MustCompile(`(?m)^reason=RENEW6 prefix=`+regexp.QuoteMeta(deleg6)+`$`))
		reachableAll(t, "internet host after the renew", rt.internet, time.Now().Add(3*time.Second), "2001:db8:100:1::2")

		// What the daemon tells of it (issue 15): one INFO line and one
		// prefix6 event for the first Reply, none for the renewal; the
		// prefix in the status.
		host.Daemon.WaitLog(t, time.Second, "level=INFO", `msg="prefix delegated"`, "TAP="+vm.Tap, "PREFIX="+deleg6)
		waitFileLine(t, events, 5*time.Second, "prefix6 TAP="+vm.Tap+" MAC="+vm.MAC.String()+" DELEGATED6="+deleg6)
		if n := strings.Count(readFile(t, events), "prefix6 "); n != 1 {
			t.Errorf("%d prefix6 events after a Reply and a renewal, want 1:\n%s", n, readFile(t, events))
		}
		lines := 0
		for _, l := range host.Daemon.Log() {
			if strings.Contains(l, `msg="prefix delegated"`) {
				lines++
			}
		}
		if lines != 1 {
			t.Errorf("%d prefix delegated lines after a Reply and a renewal, want 1", lines)
		}
		var got []string
		for _, b := range actReadStatus(t, socket).Bindings {
			if b.Name == vm.Tap && b.Activity != nil {
				got = b.Activity.Delegated6
			}
		}
		if len(got) != 1 || got[0] != deleg6 {
			t.Errorf("status -json shows delegated prefixes %v, want [%s]", got, deleg6)
		}
		one, errOut, code := runNfdhcpd(t, "status", "-socket", socket, vm.Tap)
		if code != 0 || !regexp.MustCompile(`(?m)^dhcpv6 prefixes:\s+`+regexp.QuoteMeta(deleg6)+`$`).MatchString(one) {
			t.Errorf("nfdhcpd status %s (exit %d, %s) does not show the prefix:\n%s", vm.Tap, code, errOut, one)
		}
	})

	t.Run("dhcpcd", func(t *testing.T) {
		requirePrereqs(t, "dhcpcd")
		dir := t.TempDir()
		calls := filepath.Join(dir, "calls")
		hook := filepath.Join(dir, "hook.sh")
		body := fmt.Sprintf("#!/bin/sh\necho \"reason=$reason prefix=$new_dhcp6_ia_pd1_prefix1/$new_dhcp6_ia_pd1_prefix1_length\" >> %s\nexit 0\n", calls)
		conf := filepath.Join(dir, "dhcpcd.conf")
		// Only the prefix: no IA_NA, nothing assigned from it.
		if err := os.WriteFile(hook, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, []byte("ipv6only\nnoipv6rs\nia_pd 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := vm.NS.Command(ctx, dhcpcdArgv("-B", "-6", "-t", "15", "-f", conf, "-c", hook, "eth0")...)
		var out netnstest.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("dhcpcd: %v", err)
		}
		defer func() {
			cancel()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("dhcpcd: %s", out.String())
			}
		}()
		waitFileMatch(t, calls, 15*time.Second, regexp.MustCompile(`(?m)^reason=(BOUND6|REBOOT6) prefix=2001:db8:100::/56$`))
	})
}

// stablePrivacy makes interfaces created later in ns form stable-privacy
// (RFC 7217) and temporary (RFC 8981) addresses, as NetworkManager does.
func stablePrivacy(t *testing.T, ns *Netns) {
	t.Helper()
	for _, kv := range []string{
		"net.ipv6.conf.default.stable_secret=2001:db8:5ec:7e7::1",
		"net.ipv6.conf.default.addr_gen_mode=2",
		"net.ipv6.conf.default.use_tempaddr=2",
	} {
		ns.Run(t, "sysctl", "-qw", kv)
	}
}

// globalAddrs returns the VM's global addresses on eth0 inside prefix, the
// stable and the temporary one, once both passed DAD.
func globalAddrs(t *testing.T, vm *routedVM, prefix string) (stable, temporary string) {
	t.Helper()
	re := regexp.MustCompile(`inet6 (` + regexp.QuoteMeta(strings.TrimSuffix(prefix, ":/64")) + `[0-9a-f:]+)/64 scope global (.*)`)
	waitUntil(t, 8*time.Second, "stable and temporary addresses in "+prefix, func() bool {
		out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0")
		stable, temporary = "", ""
		for _, m := range re.FindAllStringSubmatch(out, -1) {
			if strings.Contains(m[2], "tentative") {
				continue
			}
			if strings.Contains(m[2], "temporary") {
				temporary = m[1]
			} else {
				stable = m[1]
			}
		}
		return stable != "" && temporary != ""
	})
	return stable, temporary
}

// pingFrom pings dst from src inside ns, until an answer or timeout.
func pingFrom(ns *Netns, src, dst string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := ns.Try(append(pingCommand(), "-c", "1", "-W", "1", "-I", src, dst)...); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func TestPrefixPerVM(t *testing.T) {
	rt := newAddrTopology(t)
	host := rt.vmc[0]

	t.Run("stable-privacy and temporary addresses in PREFIX6", func(t *testing.T) {
		vm := addrVM(t, "tap0", "52:54:00:00:10:01", "192.0.2.60")
		const prefix6 = "2001:db8:2:5::/64"
		stablePrivacy(t, vm.NS)
		attachVM(t, host, vm)
		host.Daemon.WriteBinding(t, vm.Tap, addrBinding(vm, "PREFIX6", prefix6))
		waitRouted(t, host, vm, true)
		operatorRoute(t, rt, prefix6, vm.EUI64)
		waitUntil(t, 5*time.Second, "a link-local address on the VM", func() bool {
			out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
			return strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative")
		})
		vm.NS.Run(t, "rdisc6", "-1", "-w", "1000", "eth0")
		stable, temporary := globalAddrs(t, vm, prefix6)
		if out := vm.NS.Run(t, "ip", "-6", "addr", "show", "dev", "eth0"); strings.Contains(out, "dadfailed") {
			t.Errorf("an address failed DAD:\n%s", out)
		}
		t.Logf("stable %s, temporary %s", stable, temporary)
		for _, src := range []string{stable, temporary} {
			for _, dst := range []string{rtGateway6, adInternet6} {
				if !pingFrom(vm.NS, src, dst, 3*time.Second) {
					t.Errorf("the VM cannot reach %s from %s", dst, src)
				}
			}
			reachableAll(t, "router", rt.router, time.Now().Add(2*time.Second), src)
			reachableAll(t, "internet host", rt.internet, time.Now().Add(2*time.Second), src)
		}
	})

	// Without PREFIX6 the VM shares SUBNET6 and owns only its EUI-64
	// address: the host answers every other address of the subnet (its
	// userspace proxy NDP), so the guest's stable-privacy and temporary
	// addresses fail DAD, and would neither be routed nor pass antispoof.
	// This mode is unsupported for such guests; the test shows why.
	t.Run("the same guest in EUI-64 mode is unsupported", func(t *testing.T) {
		if os.Getenv(raceEnv) != "" {
			t.Skip("shows the guest kernel's DAD against the plain responder path, which the race pass covers elsewhere")
		}
		vm := addrVM(t, "tap1", "52:54:00:00:10:02", "192.0.2.61")
		stablePrivacy(t, vm.NS)
		attachVM(t, host, vm)
		host.Daemon.WriteBinding(t, vm.Tap, vm.bindingFile())
		waitRouted(t, host, vm, true)
		waitUntil(t, 5*time.Second, "a link-local address on the VM", func() bool {
			out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
			return strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative")
		})
		vm.NS.Run(t, "rdisc6", "-1", "-w", "1000", "eth0")
		// The kernel retries with new stable-privacy addresses, each of
		// which the host claims: none ever passes DAD.
		time.Sleep(4 * time.Second)
		out := vm.NS.Run(t, "ip", "-6", "addr", "show", "dev", "eth0", "scope", "global")
		if usable := vm.NS.Run(t, "ip", "-6", "addr", "show", "dev", "eth0", "scope", "global", "-tentative"); strings.TrimSpace(usable) != "" {
			t.Errorf("the guest has a usable global address in SUBNET6 without PREFIX6:\n%s", out)
		}
		if strings.Contains(out, vm.EUI64) {
			t.Errorf("a stable-privacy guest formed its EUI-64 address:\n%s", out)
		}
		// Because the host answered the guest's duplicate address probes.
		host.Daemon.WaitLog(t, time.Second, "neighbor advertisement", "TAP="+vm.Tap)
		if reachable(vm.NS, rtGateway6, time.Second) {
			t.Errorf("the guest reaches the router over IPv6 without a usable address:\n%s", out)
		}
	})
}
