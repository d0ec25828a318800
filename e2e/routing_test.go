package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// The routed topology of issue 4 (seed/routed-setup.rst): a LAN segment (a
// bridge in its own namespace) joins the router and two VM hosts on their
// eth1; the router's eth0 leads to an "internet" host. The routed network
// is 192.0.2.0/24 and 2001:db8:1::/64 behind the router .1 / ::1; the
// hosts' own addresses live in a management network on the same segment.
const (
	rtSubnet   = "192.0.2.0/24"
	rtGateway  = "192.0.2.1"
	rtARPIP    = "192.0.2.254"
	rtSubnet6  = "2001:db8:1::/64"
	rtGateway6 = "2001:db8:1::1"
	rtInternet = "198.51.100.2"
	// rtTapMAC is the MAC of every TAP, as Ganeti gives them: a migrated
	// VM finds its gateway at the same link-layer address.
	rtTapMAC = "fe:ff:ff:ff:ff:ff"
)

// A routedVM is a VM namespace attached to a VM host through a TAP.
type routedVM struct {
	NS    *Netns
	Tap   string
	MAC   net.HardwareAddr
	IP    string
	EUI64 string
}

// A routedHost is a host of the topology with its daemon.
type routedHost struct {
	NS     *Netns
	Conf   Config
	Daemon *Daemon
}

type routedTopology struct {
	lan, router, internet *Netns
	routerHost            *routedHost
	vmc                   [2]*routedHost
}

// noDAD makes addresses of interfaces created later in ns usable at once.
func noDAD(t *testing.T, ns *Netns) {
	t.Helper()
	for _, c := range []string{"all", "default"} {
		ns.Run(t, "sysctl", "-qw", "net.ipv6.conf."+c+".accept_dad=0")
	}
}

// plugIntoLAN connects ns to the LAN bridge with its eth1.
func (rt *routedTopology) plugIntoLAN(t *testing.T, ns *Netns, port string) {
	t.Helper()
	rt.lan.Run(t, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth1", "netns", ns.Name)
	rt.lan.Run(t, "ip", "link", "set", port, "master", "br0", "up")
	ns.Run(t, "ip", "link", "set", "eth1", "up")
}

func routingConfig(t *testing.T, role string) Config {
	c := defaultConfig(newDatapath(t))
	// Several daemons share the file system: each needs its own socket.
	c.set("general", "control_socket", filepath.Join(t.TempDir(), "control"))
	for k, v := range map[string]string{
		"enable_routing": "yes", "role": role, "uplink": "eth1",
		"subnet": rtSubnet, "gateway": rtGateway, "arp_ip": rtARPIP,
		"subnet6": rtSubnet6, "gateway6": rtGateway6,
	} {
		c.set("routing", k, v)
	}
	return c
}

// newRoutedTopology builds the namespaces and starts a daemon on every
// host: the router with role gateway (NAT to the internet host), the two
// VM hosts with role vmc.
func newRoutedTopology(t *testing.T) *routedTopology { return newRoutedTopologyNamed(t, "rt") }

// newRoutedTopologyNamed is newRoutedTopology with the namespaces' names
// starting with prefix, so that each issue's tests own theirs.
func newRoutedTopologyNamed(t *testing.T, prefix string) *routedTopology {
	t.Helper()
	return newRoutedTopologyAs(t, "rt")
}

// newRoutedTopologyAs is newRoutedTopology with its namespaces named
// after prefix, so that each issue's tests keep to their own names.
func newRoutedTopologyAs(t *testing.T, prefix string) *routedTopology {
	t.Helper()
	requirePrereqs(t, "rdisc6", "nft")
	if pingCommand() == nil {
		netnstest.MissingPrerequisite(t, "need ping or busybox")
	}
	rt := &routedTopology{lan: newNetns(t, prefix+"-lan"), router: newNetns(t, prefix+"-router"), internet: newNetns(t, prefix+"-inet")}
	rt.lan.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	rt.lan.Run(t, "ip", "link", "set", "br0", "up")

	noDAD(t, rt.router)
	rt.plugIntoLAN(t, rt.router, "p-router")
	rt.router.Run(t, "ip", "addr", "add", "198.51.100.65/26", "dev", "eth1")
	rt.router.Run(t, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", rt.internet.Name)
	rt.router.Run(t, "ip", "addr", "add", "198.51.100.1/26", "dev", "eth0")
	rt.router.Run(t, "ip", "link", "set", "eth0", "up")
	rt.internet.Run(t, "ip", "addr", "add", rtInternet+"/26", "dev", "eth0")
	rt.internet.Run(t, "ip", "link", "set", "eth0", "up")

	conf := routingConfig(t, "gateway")
	conf.set("routing", "wan", "eth0")
	conf.set("dhcp", "enable_dhcp", "no")
	conf.set("ipv6", "enable_ipv6", "no")
	rt.routerHost = &routedHost{NS: rt.router, Conf: conf}
	rt.routerHost.Daemon = startDaemon(t, rt.router, conf)

	for i := range rt.vmc {
		ns := newNetns(t, fmt.Sprintf("%s-vmc%d", prefix, i+1))
		noDAD(t, ns)
		rt.plugIntoLAN(t, ns, fmt.Sprintf("p-vmc%d", i+1))
		ns.Run(t, "ip", "addr", "add", fmt.Sprintf("198.51.100.%d/26", 66+i), "dev", "eth1")
		installQueueRules(t, ns)
		conf := routingConfig(t, "vmc")
		h := &routedHost{NS: ns, Conf: conf}
		h.Daemon = startDaemon(t, ns, conf)
		rt.vmc[i] = h
	}
	// The router's address and NAT are the daemon's: wait for them.
	waitUntil(t, 5*time.Second, "the router's gateway address", func() bool {
		out, _ := rt.router.Try("ip", "-4", "addr", "show", "dev", "eth1")
		return strings.Contains(out, rtGateway+"/24")
	})
	return rt
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("e2e: timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// attachVM plugs a VM namespace (new when vm.NS is nil) into host through
// a TAP named tap, with the VM's MAC on its eth0.
func attachVM(t *testing.T, host *routedHost, vm *routedVM) {
	t.Helper()
	if vm.NS == nil {
		vm.NS = newNetns(t, "rt-vm")
	}
	host.NS.Run(t, "ip", "link", "add", vm.Tap, "address", rtTapMAC, "type", "veth", "peer", "name", "eth0", "netns", vm.NS.Name)
	vm.NS.Run(t, "ip", "link", "set", "eth0", "address", vm.MAC.String())
	vm.NS.Run(t, "ip", "link", "set", "eth0", "up")
	host.NS.Run(t, "ip", "link", "set", vm.Tap, "up")
}

func (vm *routedVM) bindingFile() string {
	return bindingFile("MAC", vm.MAC.String(), "IP", vm.IP, "SUBNET", rtSubnet, "GATEWAY", rtGateway,
		"SUBNET6", rtSubnet6, "GATEWAY6", rtGateway6, "HOSTNAME", "vm-"+strings.ReplaceAll(vm.IP, ".", "-"))
}

// bind writes vm's binding on host and waits until the daemon routed it.
func bind(t *testing.T, host *routedHost, vm *routedVM) {
	t.Helper()
	host.Daemon.WriteBinding(t, vm.Tap, vm.bindingFile())
	waitRouted(t, host, vm, true)
}

// waitRouted waits until host's table 500 holds (or no longer holds) the
// VM's host routes.
func waitRouted(t *testing.T, host *routedHost, vm *routedVM, present bool) {
	t.Helper()
	waitUntil(t, 5*time.Second, fmt.Sprintf("routes of %s present=%v on %s", vm.IP, present, host.NS.Name), func() bool {
		v4, _ := host.NS.Try("ip", "route", "show", "table", "500")
		v6, _ := host.NS.Try("ip", "-6", "route", "show", "table", "500")
		has4 := strings.Contains(v4, vm.IP+" dev "+vm.Tap)
		has6 := strings.Contains(v6, vm.EUI64+" dev "+vm.Tap)
		return has4 == present && has6 == present
	})
}

// configureVM gets the VM's IPv4 configuration from the daemon with DHCP
// and its IPv6 address with SLAAC, and applies them as a VM's DHCP client
// and kernel would.
func configureVM(t *testing.T, vm *routedVM) {
	t.Helper()
	c, err := newRawDHCPClient(vm.NS, "eth0", vm.MAC)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	defer c.Close()
	offer, err := c.exchange(dhcpRequest{Type: layers.DHCPMsgTypeDiscover}, 3*time.Second)
	if err != nil {
		t.Fatalf("e2e: DHCPDISCOVER from %s: %v", vm.MAC, err)
	}
	server, _ := dhcpOption(offer, layers.DHCPOptServerID)
	serverID, _ := netip.AddrFromSlice(server)
	ack, err := c.exchange(dhcpRequest{Type: layers.DHCPMsgTypeRequest, Requested: yourIP(offer), ServerID: serverID}, 3*time.Second)
	if err != nil || dhcpMsgType(ack) != layers.DHCPMsgTypeAck {
		t.Fatalf("e2e: DHCPREQUEST from %s: %v (type %v)", vm.MAC, err, dhcpMsgType(ack))
	}
	if got := yourIP(ack).String(); got != vm.IP {
		t.Fatalf("e2e: %s got %s, want %s", vm.MAC, got, vm.IP)
	}
	mask, _ := dhcpOption(ack, layers.DHCPOptSubnetMask)
	router, _ := dhcpOption(ack, layers.DHCPOptRouter)
	bits, _ := net.IPMask(mask).Size()
	vm.NS.Run(t, "ip", "addr", "add", fmt.Sprintf("%s/%d", vm.IP, bits), "dev", "eth0")
	vm.NS.Run(t, "ip", "route", "add", "default", "via", net.IP(router[:4]).String())

	// A Router Solicitation makes the daemon answer with the prefix at
	// once; it needs the link-local address past its DAD.
	waitUntil(t, 5*time.Second, "a link-local address on the VM", func() bool {
		out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
		return strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative")
	})
	vm.NS.Run(t, "rdisc6", "-1", "-w", "1000", "eth0")
	waitUntil(t, 5*time.Second, "SLAAC address "+vm.EUI64, func() bool {
		out, _ := vm.NS.Try("ip", "-6", "addr", "show", "dev", "eth0", "scope", "global")
		return strings.Contains(out, vm.EUI64+"/64") && !strings.Contains(out, "tentative")
	})
}

// pingCommand returns the argv prefix of ping: iputils' when installed,
// else busybox's, which accepts the options used here; nil when neither is.
func pingCommand() []string {
	if _, err := exec.LookPath("ping"); err == nil {
		return []string{"ping"}
	}
	if _, err := exec.LookPath("busybox"); err == nil {
		return []string{"busybox", "ping"}
	}
	return nil
}

// reachable pings dst from ns until one answer, for up to timeout.
func reachable(ns *Netns, dst string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := ns.Try(append(pingCommand(), "-c", "1", "-W", "1", dst)...); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func newRoutedVM(t *testing.T, tap, mac, ip string) *routedVM {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	eui, err := binding.EUI64(hw, netip.MustParsePrefix(rtSubnet6))
	if err != nil {
		t.Fatal(err)
	}
	return &routedVM{Tap: tap, MAC: hw, IP: ip, EUI64: eui.String()}
}

// countLines returns how many lines of text contain sub.
func countLines(text, sub string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func TestRoutedSetup(t *testing.T) {
	rt := newRoutedTopology(t)
	vm1 := newRoutedVM(t, "tap0", "52:54:00:00:01:01", "192.0.2.10")
	vm2 := newRoutedVM(t, "tap0", "52:54:00:00:02:01", "192.0.2.20")
	attachVM(t, rt.vmc[0], vm1)
	attachVM(t, rt.vmc[1], vm2)
	bind(t, rt.vmc[0], vm1)
	bind(t, rt.vmc[1], vm2)
	configureVM(t, vm1)
	configureVM(t, vm2)

	t.Run("connectivity", func(t *testing.T) {
		cases := []struct {
			name string
			from *Netns
			to   string
		}{
			{"VM to router", vm1.NS, rtGateway},
			{"VM to VM on the other host", vm1.NS, vm2.IP},
			{"VM to the internet through NAT", vm1.NS, rtInternet},
			{"other VM to the internet through NAT", vm2.NS, rtInternet},
			{"VM host to VM on the other host", rt.vmc[0].NS, vm2.IP},
			{"router to VM", rt.router, vm2.IP},
			{"VM to router over IPv6", vm1.NS, rtGateway6},
			{"VM to VM on the other host over IPv6", vm1.NS, vm2.EUI64},
			{"router to VM over IPv6", rt.router, vm2.EUI64},
		}
		for _, c := range cases {
			if !reachable(c.from, c.to, 3*time.Second) {
				t.Errorf("%s: %s cannot reach %s", c.name, c.from.Name, c.to)
			}
		}
		// ARP sender rewriting: a VM never learns its host's own address
		// (the host asks for the VM's MAC as the gateway), and the router
		// learned the hosts' requests as coming from arp_ip.
		for i, vm := range []*routedVM{vm1, vm2} {
			hostAddr := fmt.Sprintf("198.51.100.%d ", 66+i)
			if neigh := vm.NS.Run(t, "ip", "-4", "neigh", "show"); strings.Contains(neigh, hostAddr) {
				t.Errorf("VM %s learned its host's address %s:\n%s", vm.IP, hostAddr, neigh)
			}
			if neigh := vm.NS.Run(t, "ip", "-4", "neigh", "show", rtGateway); !strings.Contains(neigh, rtTapMAC) {
				t.Errorf("VM %s does not see its gateway at the TAP's MAC: %q", vm.IP, neigh)
			}
		}
		if neigh := rt.router.Run(t, "ip", "-4", "neigh", "show", rtARPIP); !strings.Contains(neigh, "lladdr") {
			t.Errorf("the router has no neighbour entry for arp_ip %s: %q", rtARPIP, neigh)
		}
	})

	t.Run("status shows the routing module", func(t *testing.T) {
		socket := rt.vmc[0].Conf["general"]["control_socket"]
		st := status(t, socket)
		switch r := st.Routing; {
		case r == nil:
			t.Fatalf("status of a vmc host has no routing part")
		case r.Role != "vmc" || r.Syncs == 0 || r.OpsApplied == 0 || r.OpsFailed != 0 || r.LastSync.IsZero() || r.LastError != "":
			t.Errorf("routing status = %+v, want role vmc, passes and kernel changes made, none refused, a latest pass without error", *r)
		}
		out, errOut, code := runNfdhcpd(t, "status", "-socket", socket)
		if code != 0 || !strings.Contains(out, "routing: role vmc,") {
			t.Errorf("nfdhcpd status: exit %d, no routing line:\n%s%s", code, out, errOut)
		}
	})

	t.Run("antispoof drops forwarded packets from another source", func(t *testing.T) {
		checkSpoofDropped(t, rt.router, vm1.NS, vm1.IP)
	})

	t.Run("removal removes exactly the binding's entries", func(t *testing.T) {
		host := rt.vmc[1]
		// The operator's own rule (in the daemon's priority range) and route
		// in the daemon's table.
		host.NS.Run(t, "ip", "rule", "add", "fwmark", "0x99", "lookup", "500", "pref", "20500")
		host.NS.Run(t, "ip", "route", "add", "198.51.100.128/26", "dev", "eth1", "table", "500")
		before, ipBefore := kernelState(t, host.NS), ipState(t, host.NS)
		host.Daemon.RemoveBinding(t, vm2.Tap)
		waitRouted(t, host, vm2, false)
		after, ipAfter := kernelState(t, host.NS), ipState(t, host.NS)
		for _, gone := range []string{vm2.IP + " dev tap0", vm2.EUI64 + " dev tap0", "iif tap0", vm2.EUI64 + " dev eth1 proxy", `iifname "tap0"`, `oifname "tap0"`} {
			if !strings.Contains(before, gone) {
				t.Errorf("before removal the host lacks %q:\n%s", gone, before)
			}
			if strings.Contains(after, gone) {
				t.Errorf("after removal the host still has %q:\n%s", gone, after)
			}
		}
		// Every other rule, route and neighbour is as it was.
		if got, want := withoutBindingLines(ipAfter, vm2), withoutBindingLines(ipBefore, vm2); got != want {
			t.Errorf("removal changed other state:\nbefore:\n%s\nafter:\n%s", want, got)
		}
		for _, kept := range []string{"fwmark 0x99 lookup 500", "198.51.100.128/26 dev eth1"} {
			if !strings.Contains(after, kept) {
				t.Errorf("the operator's %q is gone:\n%s", kept, after)
			}
		}
		if reachable(vm1.NS, vm2.IP, 500*time.Millisecond) {
			t.Errorf("VM 1 still reaches the unbound VM 2")
		}
		bind(t, host, vm2)
		if !reachable(vm1.NS, vm2.IP, 3*time.Second) {
			t.Errorf("VM 1 cannot reach VM 2 after its binding was restored")
		}
		if !reachable(vm1.NS, vm2.EUI64, 3*time.Second) {
			t.Errorf("VM 1 cannot reach VM 2 over IPv6 after its binding was restored")
		}
	})

	t.Run("kill -9 and restart keep traffic flowing", func(t *testing.T) {
		host := rt.vmc[0]
		pingsLost := startPingStream(t, rt.router, vm1.IP)
		host.Daemon.Signal(t, syscall.SIGKILL)
		<-host.Daemon.done
		host.Daemon = startDaemon(t, host.NS, host.Conf)
		host.Daemon.WaitLog(t, 5*time.Second, "routing module started")
		pingsLost()
		// Let the new daemon sync, then look for duplicates.
		time.Sleep(500 * time.Millisecond)
		state := kernelState(t, host.NS)
		// Each rule once per family, each route once.
		for entry, want := range map[string]int{
			"iif tap0 lookup 500": 2, "iif eth1 lookup 500": 2,
			vm1.IP + " dev tap0": 1, vm1.EUI64 + " dev tap0": 1, "default via " + rtGateway + " ": 1,
		} {
			if n := countLines(state, entry); n != want {
				t.Errorf("%q appears %d times after the restart, want %d:\n%s", entry, n, want, state)
			}
		}
	})

	t.Run("a VM moved to the other host is reachable within a second", func(t *testing.T) {
		from, to := rt.vmc[0], rt.vmc[1]
		if !reachable(rt.router, vm1.IP, 3*time.Second) || !reachable(rt.router, vm1.EUI64, 3*time.Second) {
			t.Fatalf("the router cannot reach VM 1 before the move")
		}
		// The hypervisor's ifdown hook on the old host, then the new
		// host's ifup: the VM keeps its MAC, addresses and routes.
		from.Daemon.RemoveBinding(t, vm1.Tap)
		from.NS.Run(t, "ip", "link", "del", vm1.Tap)
		moved := *vm1
		moved.Tap = "tap1"
		attachVM(t, to, &moved)
		moved.NS.Run(t, "ip", "addr", "add", moved.IP+"/24", "dev", "eth0")
		moved.NS.Run(t, "ip", "route", "add", "default", "via", rtGateway)
		moved.NS.Run(t, "ip", "-6", "addr", "add", moved.EUI64+"/64", "dev", "eth0", "nodad")
		start := time.Now()
		to.Daemon.WriteBinding(t, moved.Tap, moved.bindingFile())
		if !reachable(rt.router, moved.IP, time.Second) {
			t.Fatalf("the router cannot reach the moved VM within 1s")
		}
		t.Logf("the moved VM answered the router %v after its binding appeared", time.Since(start).Round(time.Millisecond))
		toMAC := linkMAC(t, to.NS, "eth1").String()
		if neigh := rt.router.Run(t, "ip", "neigh", "show", moved.IP, "dev", "eth1"); !strings.Contains(neigh, toMAC) {
			t.Errorf("the router's neighbour entry of %s is %q, want the new host's %s (gratuitous ARP)", moved.IP, neigh, toMAC)
		}
		if !reachable(rt.router, moved.EUI64, time.Second) {
			t.Errorf("the router cannot reach the moved VM over IPv6 within 1s")
		}
		if neigh := rt.router.Run(t, "ip", "-6", "neigh", "show", moved.EUI64, "dev", "eth1"); !strings.Contains(neigh, toMAC) {
			t.Errorf("the router's neighbour entry of %s is %q, want the new host's %s (unsolicited NA)", moved.EUI64, neigh, toMAC)
		}
	})
}

// checkSpoofDropped gives vm's eth0 a source it does not own and checks
// that the router sees pings from allowed and none from that source.
func checkSpoofDropped(t *testing.T, router, vm *Netns, allowed string) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		netnstest.MissingPrerequisite(t, "need tcpdump: %v", err)
	}
	const spoofed = "192.0.2.99"
	vm.Run(t, "ip", "addr", "add", spoofed+"/32", "dev", "eth0")
	defer vm.Run(t, "ip", "addr", "del", spoofed+"/32", "dev", "eth0")
	for _, c := range []struct {
		src  string
		seen bool
	}{{allowed, true}, {spoofed, false}} {
		if got := seenByRouter(t, router, vm, c.src); got != c.seen {
			t.Errorf("pings from %s seen by the router: %v, want %v", c.src, got, c.seen)
		}
	}
}

// seenByRouter pings the router from vm with source address src and
// reports whether the router's uplink saw any of the pings.
func seenByRouter(t *testing.T, router, vm *Netns, src string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	dump := router.Command(ctx, "tcpdump", "-i", "eth1", "-n", "-l", "-c", "1", "icmp and src host "+src)
	var out, errOut netnstest.SyncBuffer
	dump.Stdout, dump.Stderr = &out, &errOut
	if err := dump.Start(); err != nil {
		t.Fatalf("e2e: tcpdump: %v", err)
	}
	waitUntil(t, 3*time.Second, "tcpdump to listen", func() bool { return strings.Contains(errOut.String(), "listening on") })
	_, _ = vm.Try(append(pingCommand(), "-c", "3", "-i", "0.2", "-W", "1", "-I", src, rtGateway)...)
	_ = dump.Wait()
	return strings.Contains(out.String(), "ICMP echo request")
}

// kernelState returns the host's rules, routes in table 500 and main,
// proxy neighbours and the daemon's nftables tables as text.
func kernelState(t *testing.T, ns *Netns) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(ipState(t, ns))
	// A table the daemon has nothing to put in does not exist.
	for _, family := range []string{"arp", "inet"} {
		if out, err := ns.Try("nft", "list", "table", family, "nfdhcpd"); err == nil {
			b.WriteString(out)
		}
	}
	return b.String()
}

// ipState returns the host's rules, routes in table 500 and main and proxy
// neighbours as text.
func ipState(t *testing.T, ns *Netns) string {
	t.Helper()
	var b strings.Builder
	for _, argv := range [][]string{
		{"ip", "rule", "show"}, {"ip", "-6", "rule", "show"},
		{"ip", "route", "show", "table", "500"}, {"ip", "-6", "route", "show", "table", "500"},
		{"ip", "route", "show", "table", "main"}, {"ip", "-6", "route", "show", "table", "main", "proto", "157"},
		{"ip", "-6", "neigh", "show", "proxy"},
	} {
		b.WriteString(ns.Run(t, argv...))
	}
	return b.String()
}

// withoutBindingLines drops the lines that mention vm's TAP or addresses.
func withoutBindingLines(state string, vm *routedVM) string {
	var keep []string
	for _, l := range strings.Split(state, "\n") {
		if strings.Contains(l, vm.Tap) || strings.Contains(l, vm.IP+" ") || strings.Contains(l, vm.EUI64) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// startPingStream starts a 10/s stream of 40 pings from ns to dst and
// returns after its first second, for the caller to kill -9 and restart a
// daemon under it. The returned check waits for the stream's end and fails
// t if more than one ping was lost.
func startPingStream(t *testing.T, ns *Netns, dst string) (check func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ping := ns.Command(ctx, append(pingCommand(), "-i", "0.1", "-c", "40", "-W", "1", dst)...)
	var out strings.Builder
	ping.Stdout = &out
	if err := ping.Start(); err != nil {
		t.Fatalf("e2e: ping: %v", err)
	}
	time.Sleep(time.Second)
	return func() {
		t.Helper()
		_ = ping.Wait()
		sent, received := pingCounts(t, out.String())
		if sent != 40 || sent-received > 1 {
			t.Errorf("a 10/s ping stream to %s across kill -9 and restart lost %d of %d:\n%s", dst, sent-received, sent, out.String())
		}
	}
}

func pingCounts(t *testing.T, out string) (sent, received int) {
	t.Helper()
	m := pingSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("e2e: no ping summary in:\n%s", out)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received
}
