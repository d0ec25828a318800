package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The routed fabric of issue 16: no shared segment. Each VM host has its
// own point-to-point links to the router, a /31 and a /127, and announces
// its VMs' host routes over eBGP with BIRD (contrib/bird/vmhost.conf); the
// router (contrib/bird/router.conf) writes them into its main table. The
// VMs' network is the one of the proxy topology, 192.0.2.0/24 and
// 2001:db8:1::/64 behind .1 / ::1, which the router holds on lo. An
// "internet" host hangs off the router's eth0 and routes back through it.
const (
	bgpRouterAS   = "65000"
	bgpHostsRange = "198.51.100.0/28"
	bgpHosts6     = "2001:db8:ff::/124"
	bgpInternet   = "198.51.100.65"
	bgpInternet6  = "2001:db8:ff::65"
	bgpVMTable    = "500"
	// The pools the VMs' routed, delegated and own prefixes come from,
	// with the lengths a binding may use (issue 13).
	bgpPools4 = "198.51.100.128/25{26,32}"
	bgpPools6 = "2001:db8:100::/40{48,64}, 2001:db8:2::/48{56,64}"
)

// bgpLink returns the router's and host i's ends of the host's links:
// 198.51.100.2i/31 and .2i+1, 2001:db8:ff::2i+2/127 and ::2i+3.
func bgpLink(i int) (router4, host4, router6, host6 string) {
	return fmt.Sprintf("198.51.100.%d", 2*i), fmt.Sprintf("198.51.100.%d", 2*i+1),
		fmt.Sprintf("2001:db8:ff::%x", 2*i+2), fmt.Sprintf("2001:db8:ff::%x", 2*i+3)
}

// A bgpHost is a VM host with its daemon (role vmc, announce = bgp) and
// its BIRD.
type bgpHost struct {
	routedHost
	BIRD  *birdDaemon
	Addr4 string // the host's end of its /31
}

type bgpTopology struct {
	router, internet *Netns
	routerBIRD       *birdDaemon
	routerDaemon     *Daemon
	hosts            [2]*bgpHost
}

// bgpDaemonConfig is the [routing] section of a BGP fabric's node.
func bgpDaemonConfig(t *testing.T, role, uplink, gateway, gateway6 string) Config {
	c := defaultConfig(newDatapath(t))
	c.set("general", "control_socket", filepath.Join(t.TempDir(), "control"))
	for k, v := range map[string]string{
		"enable_routing": "yes", "role": role, "announce": "bgp", "uplink": uplink,
		"subnet": rtSubnet, "gateway": gateway, "subnet6": rtSubnet6, "gateway6": gateway6,
	} {
		c.set("routing", k, v)
	}
	return c
}

func newBGPTopology(t *testing.T) *bgpTopology {
	t.Helper()
	requirePrereqs(t, "rdisc6", "nft", "bird", "birdc")
	if pingCommand() == nil {
		requirePrereqs(t, "ping")
	}
	bt := &bgpTopology{router: newNetns(t, "bgp-router"), internet: newNetns(t, "bgp-inet")}
	noDAD(t, bt.router)
	noDAD(t, bt.internet)
	bt.router.Run(t, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", bt.internet.Name)
	bt.router.Run(t, "ip", "addr", "add", "198.51.100.64/31", "dev", "eth0")
	bt.router.Run(t, "ip", "addr", "add", "2001:db8:ff::64/127", "dev", "eth0")
	bt.router.Run(t, "ip", "link", "set", "eth0", "up")
	bt.internet.Run(t, "ip", "addr", "add", bgpInternet+"/31", "dev", "eth0")
	bt.internet.Run(t, "ip", "addr", "add", bgpInternet6+"/127", "dev", "eth0")
	bt.internet.Run(t, "ip", "link", "set", "eth0", "up")
	bt.internet.Run(t, "ip", "route", "add", "default", "via", "198.51.100.64")
	bt.internet.Run(t, "ip", "-6", "route", "add", "default", "via", "2001:db8:ff::64")

	// The router: the VMs' gateway addresses on lo and forwarding from its
	// daemon, the routes to the VMs from BGP.
	conf := bgpDaemonConfig(t, "gateway", "lo", rtGateway, rtGateway6)
	conf.set("dhcp", "enable_dhcp", "no")
	conf.set("ipv6", "enable_ipv6", "no")
	bt.routerDaemon = startDaemon(t, bt.router, conf)
	bt.routerBIRD = startBIRD(t, bt.router, "router", renderBIRD(t, "router.conf", map[string]string{
		"ROUTER_ID": rtGateway, "ROUTER_AS": bgpRouterAS, "HOSTS4": bgpHostsRange, "HOSTS6": bgpHosts6,
		"SUBNET4": rtSubnet, "SUBNET6": rtSubnet6, "POOLS4": bgpPools4, "POOLS6": bgpPools6,
	}))

	for i := range bt.hosts {
		r4, h4, r6, h6 := bgpLink(i)
		ns := newNetns(t, fmt.Sprintf("bgp-host%d", i+1))
		noDAD(t, ns)
		link := fmt.Sprintf("host%d", i+1)
		bt.router.Run(t, "ip", "link", "add", link, "type", "veth", "peer", "name", "eth1", "netns", ns.Name)
		bt.router.Run(t, "ip", "addr", "add", r4+"/31", "dev", link)
		bt.router.Run(t, "ip", "addr", "add", r6+"/127", "dev", link)
		bt.router.Run(t, "ip", "link", "set", link, "up")
		ns.Run(t, "ip", "addr", "add", h4+"/31", "dev", "eth1")
		ns.Run(t, "ip", "addr", "add", h6+"/127", "dev", "eth1")
		ns.Run(t, "ip", "link", "set", "eth1", "up")
		installQueueRules(t, ns)
		conf := bgpDaemonConfig(t, "vmc", "eth1", r4, r6)
		h := &bgpHost{routedHost: routedHost{NS: ns, Conf: conf}, Addr4: h4}
		h.BIRD = startBIRD(t, ns, link, renderBIRD(t, "vmhost.conf", map[string]string{
			"ROUTER_ID": h4, "HOST_AS": fmt.Sprint(65001 + i), "ROUTER_AS": bgpRouterAS,
			"ROUTER4": r4, "ROUTER6": r6, "UPLINK": "eth1", "SUBNET4": rtSubnet, "SUBNET6": rtSubnet6,
			"VM_TABLE": bgpVMTable, "POOLS4": bgpPools4, "POOLS6": bgpPools6,
		}))
		conf.set("routing", "bird_socket", h.BIRD.Socket)
		h.Daemon = startDaemon(t, ns, conf)
		bt.hosts[i] = h
	}
	waitUntil(t, 20*time.Second, "both hosts' BGP sessions (IPv4 and IPv6)", func() bool {
		return bt.routerBIRD.Established(t) == 4
	})
	waitUntil(t, 5*time.Second, "the router's gateway addresses", func() bool {
		out, _ := bt.router.Try("ip", "addr", "show", "dev", "lo")
		return strings.Contains(out, rtGateway+"/32") && strings.Contains(out, rtGateway6+"/128")
	})
	return bt
}

// routerRoute returns the router's kernel route to addr ("" when none),
// which BIRD wrote from BGP.
func (bt *bgpTopology) routerRoute(addr string) string {
	family, bits := "-4", "/32"
	if strings.Contains(addr, ":") {
		family, bits = "-6", "/128"
	}
	out, _ := bt.router.Try("ip", family, "route", "show", addr+bits, "proto", "bird")
	return strings.TrimSpace(out)
}

// routedVia reports whether the router's routes to vm's addresses lead to
// host (through its link hostN), or are gone when host is nil.
func (bt *bgpTopology) routedVia(vm *routedVM, host *bgpHost) bool {
	for _, a := range []string{vm.IP, vm.EUI64} {
		r := bt.routerRoute(a)
		if host == nil && r != "" || host != nil && !strings.Contains(r, "dev "+host.BIRD.name+" ") {
			return false
		}
	}
	return true
}

// elapsedUntil polls cond every 10 ms for up to timeout and returns how long
// it took to hold, or false.
func elapsedUntil(start time.Time, timeout time.Duration, cond func() bool) (time.Duration, bool) {
	for !cond() {
		if time.Since(start) > timeout {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), true
}

func TestBGPFabric(t *testing.T) {
	bt := newBGPTopology(t)
	top := t // what outlives a subtest is started with it
	h1, h2 := bt.hosts[0], bt.hosts[1]
	vm1 := newRoutedVM(t, "tap0", "52:54:00:00:01:01", "192.0.2.10")
	vm2 := newRoutedVM(t, "tap0", "52:54:00:00:02:01", "192.0.2.20")
	for _, p := range []struct {
		host *bgpHost
		vm   *routedVM
	}{{h1, vm1}, {h2, vm2}} {
		p.vm.NS = newNetns(t, "bgp-vm")
		attachVM(t, &p.host.routedHost, p.vm)
		bind(t, &p.host.routedHost, p.vm)
		configureVM(t, p.vm)
	}
	waitUntil(t, 5*time.Second, "the router's routes to both VMs", func() bool {
		return bt.routedVia(vm1, h1) && bt.routedVia(vm2, h2)
	})

	t.Run("connectivity over the routed fabric", func(t *testing.T) {
		cases := []struct {
			name string
			from *Netns
			to   string
		}{
			{"VM to VM on the other host", vm1.NS, vm2.IP},
			{"VM to VM on the other host over IPv6", vm1.NS, vm2.EUI64},
			{"other VM to VM", vm2.NS, vm1.IP},
			{"VM to the router", vm1.NS, rtGateway},
			{"VM to the router over IPv6", vm2.NS, rtGateway6},
			{"VM to the internet", vm1.NS, bgpInternet},
			{"VM to the internet over IPv6", vm1.NS, bgpInternet6},
			{"other VM to the internet", vm2.NS, bgpInternet},
			{"other VM to the internet over IPv6", vm2.NS, bgpInternet6},
			{"router to VM", bt.router, vm2.IP},
			{"router to VM over IPv6", bt.router, vm1.EUI64},
			{"internet to VM", bt.internet, vm1.IP},
			{"internet to VM over IPv6", bt.internet, vm2.EUI64},
			{"VM host to a VM on the other host", h1.NS, vm2.IP},
		}
		for _, c := range cases {
			if !reachable(c.from, c.to, 3*time.Second) {
				t.Errorf("%s: %s cannot reach %s", c.name, c.from.Name, c.to)
			}
		}
		// Nothing is proxied on the links: no proxy neighbours, no proxy
		// sysctls, and the router learned no neighbour for a VM.
		for _, h := range bt.hosts {
			if out := h.NS.Run(t, "ip", "-6", "neigh", "show", "proxy"); strings.TrimSpace(out) != "" {
				t.Errorf("%s has proxy neighbours:\n%s", h.NS.Name, out)
			}
			for _, key := range []string{"net.ipv4.conf.eth1.proxy_arp", "net.ipv6.conf.eth1.proxy_ndp"} {
				if v := strings.TrimSpace(h.NS.Run(t, "sysctl", "-n", key)); v != "0" {
					t.Errorf("%s: %s = %s, want 0", h.NS.Name, key, v)
				}
			}
		}
		if out := bt.router.Run(t, "ip", "neigh", "show"); strings.Contains(out, vm1.IP+" ") || strings.Contains(out, vm2.EUI64) {
			t.Errorf("the router has neighbour entries for VMs:\n%s", out)
		}
		// BIRD exports the VMs' host routes and nothing else of the VM
		// table (its default route, say).
		if out := bt.router.Run(t, "ip", "route", "show", "proto", "bird"); strings.Count(out, "\n") != 2 || !strings.Contains(out, vm1.IP+" ") || !strings.Contains(out, vm2.IP+" ") {
			t.Errorf("the router's BGP routes are not exactly the two VMs':\n%s", out)
		}
	})

	t.Run("check finds BIRD", func(t *testing.T) {
		out, errOut, code := runNfdhcpd(t, "check", "-c", h1.Daemon.Conf)
		if code != 0 || strings.Contains(out, "announce = bgp") {
			t.Errorf("nfdhcpd check with BIRD running: exit %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("kill -9 of the daemon keeps the routes and the traffic", func(t *testing.T) {
		pingsLost := startPingStream(t, bt.router, vm1.IP)
		h1.Daemon.Signal(t, syscall.SIGKILL)
		<-h1.Daemon.done
		time.Sleep(time.Second)
		if !strings.Contains(h1.NS.Run(t, "ip", "route", "show", "table", bgpVMTable), vm1.IP+" dev tap0") {
			t.Errorf("the VM's route left the kernel with the daemon")
		}
		if !strings.Contains(h1.BIRD.Query(t, "show", "route", "for", vm1.IP), vm1.IP) || !bt.routedVia(vm1, h1) {
			t.Errorf("BIRD withdrew the VM's routes when the daemon died")
		}
		h1.Daemon = startDaemon(top, h1.NS, h1.Conf)
		h1.Daemon.WaitLog(t, 5*time.Second, "routing module started", "announce=bgp")
		pingsLost()
	})

	t.Run("stopping BIRD withdraws the host's VMs until it is back", func(t *testing.T) {
		h2.BIRD.Stop(t)
		start := time.Now()
		took, ok := elapsedUntil(start, 5*time.Second, func() bool { return bt.routedVia(vm2, nil) })
		if !ok {
			t.Fatalf("the router still routes to VM 2 5s after BIRD stopped: %q", bt.routerRoute(vm2.IP))
		}
		t.Logf("BGP withdrawal: the router dropped VM 2's routes %v after BIRD on its host stopped", took.Round(time.Millisecond))
		if reachable(bt.router, vm2.IP, 0) || reachable(vm1.NS, vm2.IP, 0) {
			t.Errorf("VM 2 is still reachable with its host's BIRD stopped")
		}
		if !reachable(vm1.NS, rtGateway, time.Second) {
			t.Errorf("the other host's VM lost the router")
		}
		out, _, _ := runNfdhcpd(t, "check", "-c", h2.Daemon.Conf)
		if !strings.Contains(out, "warning: [routing] announce = bgp but BIRD is not running") {
			t.Errorf("nfdhcpd check does not warn that BIRD is gone:\n%s", out)
		}

		h2.BIRD.Restart(t)
		start = time.Now()
		if took, ok = elapsedUntil(start, 30*time.Second, func() bool { return bt.routedVia(vm2, h2) }); !ok {
			t.Fatalf("the router has no route to VM 2 30s after BIRD came back")
		}
		if !reachable(bt.router, vm2.IP, 3*time.Second) || !reachable(bt.router, vm2.EUI64, 3*time.Second) || !reachable(vm1.NS, vm2.IP, 3*time.Second) {
			t.Errorf("VM 2 is not reachable again after its host's BIRD came back")
		}
		t.Logf("BGP restart: the router routes to VM 2 again %v after BIRD started (socket up)", took.Round(time.Millisecond))
	})

	t.Run("a VM moved to the other host is reachable within a second", func(t *testing.T) {
		if !reachable(bt.router, vm1.IP, 3*time.Second) || !reachable(bt.router, vm1.EUI64, 3*time.Second) {
			t.Fatalf("the router cannot reach VM 1 before the move")
		}
		// The old host's ifdown hook, then the new host's ifup: the VM keeps
		// its MAC, addresses and routes.
		h1.Daemon.RemoveBinding(t, vm1.Tap)
		h1.NS.Run(t, "ip", "link", "del", vm1.Tap)
		moved := *vm1
		moved.Tap = "tap1"
		attachVM(t, &h2.routedHost, &moved)
		moved.NS.Run(t, "ip", "addr", "add", moved.IP+"/24", "dev", "eth0")
		moved.NS.Run(t, "ip", "route", "add", "default", "via", rtGateway)
		moved.NS.Run(t, "ip", "-6", "addr", "add", moved.EUI64+"/64", "dev", "eth0", "nodad")
		moved.NS.Run(t, "ip", "-6", "route", "add", "default", "via", "fe80::fcff:ffff:feff:ffff", "dev", "eth0")
		start := time.Now()
		h2.Daemon.WriteBinding(t, moved.Tap, moved.bindingFile())
		followed, ok := elapsedUntil(start, time.Second, func() bool { return bt.routedVia(&moved, h2) })
		if !ok {
			t.Errorf("the router's routes to the moved VM do not lead to its new host within 1s: %q, %q", bt.routerRoute(moved.IP), bt.routerRoute(moved.EUI64))
		}
		if !reachable(bt.router, moved.IP, time.Second-time.Since(start)) {
			t.Fatalf("the router cannot reach the moved VM within 1s (its route: %q)", bt.routerRoute(moved.IP))
		}
		reached := time.Since(start)
		if !reachable(bt.router, moved.EUI64, time.Second) {
			t.Errorf("the router cannot reach the moved VM over IPv6 within 1s (its route: %q)", bt.routerRoute(moved.EUI64))
		}
		t.Logf("migration: after the binding appeared on the new host, the router's IPv4 and IPv6 routes followed in %v and the VM answered its ping at %v",
			followed.Round(time.Millisecond), reached.Round(time.Millisecond))
		if !reachable(vm2.NS, moved.IP, time.Second) || !reachable(moved.NS, bgpInternet6, time.Second) {
			t.Errorf("the moved VM lost its neighbours or the internet")
		}
		*vm1 = moved
	})

	t.Run("prefixes over BGP, before and after a move", func(t *testing.T) {
		bgpPrefixes(t, bt)
	})

	t.Run("scale: 1,000 bindings on one host", func(t *testing.T) {
		if os.Getenv(raceEnv) != "" {
			t.Skip("scale figure: the race detector's overhead would only blur it")
		}
		bgpScale(t, bt, h1)
	})
}

// bgpScaleBindings is the size of the scale case. Every binding has an
// IPv6 address; IPv4 addresses are limited to the documentation ranges, so
// only the first bgpScaleV4 of them have one (the VMs' 192.0.2.0/24 less
// the gateway and the other tests' VMs).
const (
	bgpScaleBindings = 1000
	bgpScaleV4       = 250
)

// bgpScale writes 1,000 binding files for TAPs that already exist on
// host and measures how long until the host's VM table, and then the
// router's main table, hold every route.
func bgpScale(t *testing.T, bt *bgpTopology, host *bgpHost) {
	var links []string
	for i := range bgpScaleBindings {
		links = append(links,
			fmt.Sprintf("link add sc%04d type veth peer name scp%04d", i, i),
			fmt.Sprintf("link set scp%04d up", i), fmt.Sprintf("link set sc%04d up", i))
	}
	churnIPBatch(t, host.NS, links)
	var files []string
	v4 := 0
	for i := range bgpScaleBindings {
		mac := net.HardwareAddr{0x52, 0x54, 0x02, 0, byte(i >> 8), byte(i)}
		kv := []string{"MAC", mac.String(), "SUBNET6", rtSubnet6, "GATEWAY6", rtGateway6}
		if ip := 30 + i; i < bgpScaleV4 && ip < 255 {
			kv = append(kv, "IP", fmt.Sprintf("192.0.2.%d", ip), "SUBNET", rtSubnet, "GATEWAY", rtGateway)
			v4++
		}
		files = append(files, bindingFile(kv...))
	}
	want4, want6 := v4, bgpScaleBindings
	count := func(ns *Netns, args ...string) int {
		out, _ := ns.Try(args...)
		return strings.Count(out, "\n")
	}
	routerRoutes := func() (int, int) {
		return count(bt.router, "ip", "-4", "route", "show", "proto", "bird", "root", rtSubnet),
			count(bt.router, "ip", "-6", "route", "show", "proto", "bird", "root", rtSubnet6)
	}
	base4, base6 := routerRoutes() // the other tests' VMs
	hostRoutes := func() (int, int) {
		return count(host.NS, "ip", "-4", "route", "show", "table", bgpVMTable, "proto", "157", "root", rtSubnet),
			count(host.NS, "ip", "-6", "route", "show", "table", bgpVMTable, "proto", "157", "root", rtSubnet6)
	}
	host4, host6 := hostRoutes()

	start := time.Now()
	for i, f := range files {
		host.Daemon.WriteBinding(t, fmt.Sprintf("sc%04d", i), f)
	}
	written := time.Since(start)
	inKernel, ok := elapsedUntil(start, 120*time.Second, func() bool {
		n4, n6 := hostRoutes()
		return n4 == want4+host4 && n6 == want6+host6
	})
	if !ok {
		t.Fatalf("the host's VM table does not hold the %d routes after 120s", want4+want6)
	}
	atRouter, ok := elapsedUntil(start, 120*time.Second, func() bool {
		n4, n6 := routerRoutes()
		return n4 == want4+base4 && n6 == want6+base6
	})
	if !ok {
		n4, n6 := routerRoutes()
		t.Fatalf("the router has %d+%d of the %d+%d routes after 120s", n4-base4, n6-base6, want4, want6)
	}
	t.Logf("scale: %d bindings (%d IPv4 + %d IPv6 host routes): files written in %v, all routes in the host's VM table after %v, at the router after %v",
		bgpScaleBindings, want4, want6, written.Round(time.Millisecond), inKernel.Round(time.Millisecond), atRouter.Round(time.Millisecond))
}

// bgpPrefixes: a VM with a routed /28, a delegated /56 (a network behind
// the VM numbered from it) and a /64 of its own is reached on each from
// the internet host through the routes BIRD announced; after a move to
// the other host, again within a second. A prefix outside the pools stays
// on its host.
func bgpPrefixes(t *testing.T, bt *bgpTopology) {
	h1, h2 := bt.hosts[0], bt.hosts[1]
	vm := newRoutedVM(t, "tap5", "52:54:00:00:05:01", "192.0.2.25")
	vm.NS = newNetns(t, "bgp-vm")
	noDAD(t, vm.NS) // a migrated guest keeps its addresses, it does not redo DAD
	const (
		routed4, inRouted4 = "198.51.100.144/28", "198.51.100.145"
		deleg6, inDeleg6   = "2001:db8:100::/56", "2001:db8:100:1::2"
		prefix6, inPrefix6 = "2001:db8:2:1::/64", "2001:db8:2:1::1"
		outside4           = "198.51.100.96/28" // not in bgpPools4
	)
	file := vm.bindingFile() + bindingFile("ROUTED4", routed4+", "+outside4, "DELEGATED6", deleg6, "PREFIX6", prefix6)
	configure := func() {
		vm.NS.Run(t, "ip", "addr", "replace", vm.IP+"/24", "dev", "eth0")
		vm.NS.Run(t, "ip", "-6", "addr", "replace", vm.EUI64+"/64", "dev", "eth0", "nodad")
		vm.NS.Run(t, "ip", "-6", "addr", "replace", inPrefix6+"/64", "dev", "eth0", "nodad")
		vm.NS.Run(t, "ip", "route", "replace", "default", "via", rtGateway)
		vm.NS.Run(t, "ip", "-6", "route", "replace", "default", "via", "fe80::fcff:ffff:feff:ffff", "dev", "eth0")
	}
	attachVM(t, &h1.routedHost, vm)
	configure()
	// The routed /28 on the VM's loopback; the delegated /56 numbers a
	// network behind the VM, as a DHCPv6-PD client would.
	vm.NS.Run(t, "ip", "addr", "add", inRouted4+"/32", "dev", "lo")
	behind := newNetns(t, "bgp-behind")
	noDAD(t, behind)
	vm.NS.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	vm.NS.Run(t, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", behind.Name)
	vm.NS.Run(t, "ip", "-6", "addr", "add", "2001:db8:100:1::1/64", "dev", "lan0", "nodad")
	vm.NS.Run(t, "ip", "link", "set", "lan0", "up")
	behind.Run(t, "ip", "-6", "addr", "add", inDeleg6+"/64", "dev", "eth0", "nodad")
	behind.Run(t, "ip", "link", "set", "eth0", "up")
	behind.Run(t, "ip", "-6", "route", "add", "default", "via", "2001:db8:100:1::1")

	every := []string{vm.IP, inRouted4, vm.EUI64, inDeleg6, inPrefix6}
	routedBy := func(h *bgpHost) bool {
		for _, p := range []string{routed4, deleg6, prefix6} {
			family := "-4"
			if strings.Contains(p, ":") {
				family = "-6"
			}
			out, _ := bt.router.Try("ip", family, "route", "show", p, "proto", "bird")
			if !strings.Contains(out, "dev "+h.BIRD.name+" ") {
				return false
			}
		}
		return true
	}
	h1.Daemon.WriteBinding(t, vm.Tap, file)
	waitUntil(t, 5*time.Second, "the router's BGP routes to the VM's prefixes through host 1", func() bool { return routedBy(h1) })
	reachableAll(t, "internet host", bt.internet, time.Now().Add(5*time.Second), every...)
	reachableAll(t, "behind the VM", behind, time.Now().Add(3*time.Second), bgpInternet6, rtGateway6)
	if out := h1.NS.Run(t, "ip", "route", "show", "table", bgpVMTable, outside4); !strings.Contains(out, "via "+vm.IP) {
		t.Errorf("the host has no route to %s, outside the pools:\n%s", outside4, out)
	}
	if out := bt.router.Run(t, "ip", "route", "show", outside4); strings.TrimSpace(out) != "" {
		t.Errorf("a prefix outside the pools reached the router:\n%s", out)
	}

	// The move: ifdown on host 1, ifup on host 2, the guest untouched but
	// for its new NIC.
	h1.Daemon.RemoveBinding(t, vm.Tap)
	h1.NS.Run(t, "ip", "link", "del", vm.Tap)
	vm.Tap = "tap6"
	attachVM(t, &h2.routedHost, vm)
	configure()
	start := time.Now()
	h2.Daemon.WriteBinding(t, vm.Tap, file)
	followed, ok := elapsedUntil(start, time.Second, func() bool { return routedBy(h2) })
	if !ok {
		t.Errorf("the router's routes to the moved VM's prefixes do not lead to host 2 within 1s")
	}
	reachableAll(t, "internet host after the move", bt.internet, start.Add(time.Second), every...)
	t.Logf("migration with prefixes: the router's prefix routes followed in %v, the internet host reached all %d addresses at %v",
		followed.Round(time.Millisecond), len(every), time.Since(start).Round(time.Millisecond))
	// Leave the scale case the subnet to itself.
	h2.Daemon.RemoveBinding(t, vm.Tap)
	waitUntil(t, 5*time.Second, "the prefixes withdrawn", func() bool {
		out, _ := bt.router.Try("ip", "route", "show", routed4)
		return strings.TrimSpace(out) == ""
	})
}
