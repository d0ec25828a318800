package e2e

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
)

// The values every DHCPv4 test hands out; the config below is the source of
// DNS, domain and lease time, the binding of the rest.
const (
	testSubnet   = "192.0.2.0/24"
	testGateway  = "192.0.2.1"
	testLease    = "3600"
	testRenewal  = "600"
	testMTU      = "1450"
	testServerIP = "192.0.2.254"
)

// newHypervisor creates the hypervisor namespace with the capture rules.
func newHypervisor(t testing.TB, cmds ...string) *Netns {
	t.Helper()
	requirePrereqs(t, cmds...)
	hv := newNetns(t, "hv")
	installQueueRules(t, hv)
	return hv
}

// dhcpv4Config is the default config with a lease time that differs from
// the daemon's default, so that a client reporting it proves it came from
// the config.
func dhcpv4Config(t testing.TB) Config {
	c := defaultConfig(newDatapath(t))
	c.set("dhcp", "lease_lifetime", testLease)
	c.set("dhcp", "lease_renewal", testRenewal)
	c.set("dhcp", "server_ip", testServerIP)
	return c
}

// vmMAC returns a locally administered unicast MAC numbered n.
func vmMAC(n byte) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, 0xe2, 0xe0, n}
}

// vmBinding renders the binding file of a VM on link l with address ip,
// followed by extra key/value pairs.
func vmBinding(l *Link, ip, hostname string, extra ...string) string {
	return bindingFile(append([]string{
		"MAC", l.VMMAC.String(), "IP", ip, "SUBNET", testSubnet, "GATEWAY", testGateway,
		"HOSTNAME", hostname, "MTU", testMTU, "TAGS", `"e2e test"`,
	}, extra...)...)
}

// wantLease is what a client should report for a VM bound to ip.
func wantLease(ip, hostname string) clientLease {
	return clientLease{
		IP: ip, Mask: "255.255.255.0", Routers: testGateway, DNS: "192.0.2.53 192.0.2.54",
		Domain: "example.org", Hostname: hostname, MTU: testMTU, Lease: testLease,
	}
}

// TestDHCPv4RealClients has udhcpc, dhclient and dhcpcd each obtain their
// binding's address, mask, router, DNS servers, domain, host name, MTU and
// lease time. Two bindings exist before the daemon starts (initial scan),
// the third is renamed in while it runs.
func TestDHCPv4RealClients(t *testing.T) {
	hv := newHypervisor(t, "udhcpc", "dhclient", "dhcpcd")
	conf := dhcpv4Config(t)
	clients := []struct {
		name string
		tap  string
		ip   string
		run  func(testing.TB, *Link) (clientLease, error)
	}{
		{"udhcpc", "tap0", "192.0.2.10", func(t testing.TB, l *Link) (clientLease, error) { return runUdhcpc(t, l) }},
		{"dhclient", "tap1", "192.0.2.11", runDhclient},
		{"dhcpcd", "tap2", "192.0.2.12", runDhcpcd},
	}
	links := make([]*Link, len(clients))
	for i, c := range clients {
		// dhcpcd names its lease file after the interface: keep it unique.
		links[i] = connectVMNamed(t, hv, c.tap, uniqueIfName(t), vmMAC(byte(10+i)))
	}
	d := &Daemon{Datapath: conf["general"]["datapath"]}
	mustMkdir(t, d.Datapath)
	d.WriteBinding(t, clients[0].tap, vmBinding(links[0], clients[0].ip, "vm-udhcpc"))
	d.WriteBindingInPlace(t, clients[1].tap, vmBinding(links[1], clients[1].ip, "vm-dhclient"))
	d = startDaemon(t, hv, conf)
	d.WriteBinding(t, clients[2].tap, vmBinding(links[2], clients[2].ip, "vm-dhcpcd"))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP="+clients[2].tap)

	for i, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.run(t, links[i])
			if err != nil {
				t.Fatalf("%s got no lease: %v", c.name, err)
			}
			if diff := cmp.Diff(wantLease(c.ip, "vm-"+c.name), got); diff != "" {
				t.Errorf("%s lease mismatch (-want +got):\n%s", c.name, diff)
			}
		})
	}
	d.Stop(t)
}

// TestDHCPv4Private checks that a PRIVATE binding gets everything but a
// router.
func TestDHCPv4Private(t *testing.T) {
	hv := newHypervisor(t, "udhcpc")
	l := connectVM(t, hv, "tap0", vmMAC(1))
	d := startDaemon(t, hv, dhcpv4Config(t))
	d.WriteBinding(t, "tap0", vmBinding(l, "192.0.2.20", "private", "PRIVATE", "1"))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")

	got, err := runUdhcpc(t, l)
	if err != nil {
		t.Fatalf("no lease for a PRIVATE binding: %v", err)
	}
	want := wantLease("192.0.2.20", "private")
	want.Routers = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PRIVATE lease mismatch (-want +got):\n%s", diff)
	}
	d.Stop(t)
}

// TestDHCPv4UnboundTapIsAccepted runs a second DHCP server (dnsmasq) in the
// hypervisor namespace on a bound and an unbound TAP. The unbound VM's
// request is accepted and dnsmasq answers it: the daemon is invisible there.
// The bound VM's request is answered by the daemon and dropped, so dnsmasq
// never sees it.
func TestDHCPv4UnboundTapIsAccepted(t *testing.T) {
	hv := newHypervisor(t, "udhcpc", "dnsmasq")
	bound := connectVM(t, hv, "tap0", vmMAC(1))
	unbound := connectVM(t, hv, "tap1", vmMAC(2))
	hv.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "tap0")
	hv.Run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "tap1")
	dns := startDnsmasq(t, hv, "tap0", "tap1",
		"--dhcp-range=192.0.2.100,192.0.2.110,255.255.255.0,2m",
		"--dhcp-range=198.51.100.100,198.51.100.110,255.255.255.0,2m")

	d := startDaemon(t, hv, dhcpv4Config(t))
	d.WriteBinding(t, "tap0", vmBinding(bound, "192.0.2.30", "bound"))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")

	got, err := runUdhcpc(t, unbound)
	if err != nil {
		t.Fatalf("unbound VM got no lease from the second server (packet not accepted?): %v", err)
	}
	if a, err := netip.ParseAddr(got.IP); err != nil || !netip.MustParsePrefix("198.51.100.0/24").Contains(a) {
		t.Errorf("unbound VM got %q, want an address of dnsmasq's 198.51.100.0/24 range", got.IP)
	}

	got, err = runUdhcpc(t, bound)
	if err != nil {
		t.Fatalf("bound VM got no lease: %v", err)
	}
	if got.IP != "192.0.2.30" {
		t.Errorf("bound VM got %q, want its binding's 192.0.2.30", got.IP)
	}
	if line, ok := dns.saw("DHCPDISCOVER(tap0)"); ok {
		t.Errorf("a bound VM's request reached the second server (verdict not drop): %s", line)
	}
	if _, ok := dns.saw("DHCPDISCOVER(tap1)"); !ok {
		t.Errorf("dnsmasq log shows no request from the unbound TAP")
	}
	d.Stop(t)
}

// TestDHCPv4SpoofedMAC checks that requests from a MAC other than the
// binding's get no answer, neither with the VM's own MAC in chaddr nor with
// the binding's MAC forged into chaddr, while MACSPOOF lifts the check and
// the binding's real MAC is still answered.
func TestDHCPv4SpoofedMAC(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(1))
	d := startDaemon(t, hv, dhcpv4Config(t))
	bindingMAC := vmMAC(99)
	spoofed := bindingFile("MAC", bindingMAC.String(), "IP", "192.0.2.40", "SUBNET", testSubnet, "GATEWAY", testGateway)
	discover := dhcpRequest{Type: layers.DHCPMsgTypeDiscover}
	own := rawClient(t, l, l.VMMAC)

	d.WriteBinding(t, "tap0", spoofed+"MACSPOOF=yes\n")
	reply, _ := awaitReply(t, own, discover, time.Now(), 2*time.Second, isOffer)
	if got, want := yourIP(reply), netip.MustParseAddr("192.0.2.40"); got != want {
		t.Errorf("MACSPOOF OFFER yiaddr: got %v, want %v", got, want)
	}

	d.WriteBinding(t, "tap0", spoofed)
	awaitSilence(t, own, discover, time.Now(), 2*time.Second)
	forged := rawClient(t, l, l.VMMAC)
	forged.chaddr = bindingMAC
	if reply, err := forged.exchange(discover, time.Second); err != errNoReply {
		t.Errorf("DISCOVER with the binding's MAC forged in chaddr: got %v, %v; want no reply", describeReply(reply), err)
	}
	// The binding is active and answers its own MAC: the silence above is
	// the spoofing check, not a missing binding.
	real := rawClient(t, l, bindingMAC)
	reply = mustExchange(t, real, discover)
	if got, want := yourIP(reply), netip.MustParseAddr("192.0.2.40"); got != want {
		t.Errorf("OFFER to the binding's MAC: yiaddr %v, want %v", got, want)
	}
	d.Stop(t)
}

// TestDHCPv4RequestOtherAddress checks that a REQUEST for an address other
// than the binding's is NAKed, and one for the binding's address ACKed with
// the configured lease.
func TestDHCPv4RequestOtherAddress(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(1))
	d := startDaemon(t, hv, dhcpv4Config(t))
	d.WriteBinding(t, "tap0", vmBinding(l, "192.0.2.50", "vm"))
	c := rawClient(t, l, l.VMMAC)
	awaitReply(t, c, dhcpRequest{Type: layers.DHCPMsgTypeDiscover}, time.Now(), 2*time.Second, isOffer)
	server := netip.MustParseAddr(testServerIP)

	tests := []struct {
		name      string
		requested string
		want      layers.DHCPMsgType
		wantIP    netip.Addr
	}{
		{"other address", "192.0.2.99", layers.DHCPMsgTypeNak, netip.IPv4Unspecified()},
		{"address of another subnet", "198.51.100.50", layers.DHCPMsgTypeNak, netip.IPv4Unspecified()},
		{"own address", "192.0.2.50", layers.DHCPMsgTypeAck, netip.MustParseAddr("192.0.2.50")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := mustExchange(t, c, dhcpRequest{
				Type: layers.DHCPMsgTypeRequest, Requested: netip.MustParseAddr(tt.requested), ServerID: server,
			})
			if got := dhcpMsgType(reply); got != tt.want {
				t.Errorf("REQUEST %s: got %v, want %v", tt.requested, got, tt.want)
			}
			if got := yourIP(reply); got != tt.wantIP {
				t.Errorf("REQUEST %s: yiaddr %v, want %v", tt.requested, got, tt.wantIP)
			}
		})
	}
	d.Stop(t)
}

// rawClient opens a raw DHCP client on the VM end of l, closed when the
// test ends.
func rawClient(t testing.TB, l *Link, mac net.HardwareAddr) *rawDHCPClient {
	t.Helper()
	c, err := newRawDHCPClient(l.VM, l.VMIf, mac)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustExchange sends req and fails the test when no reply comes within 2 s.
func mustExchange(t testing.TB, c *rawDHCPClient, req dhcpRequest) *layers.DHCPv4 {
	t.Helper()
	reply, err := c.exchange(req, 2*time.Second)
	if err != nil {
		t.Fatalf("%v %s: %v", req.Type, c.mac, err)
	}
	return reply
}

// isOffer accepts an OFFER.
func isOffer(d *layers.DHCPv4) bool { return dhcpMsgType(d) == layers.DHCPMsgTypeOffer }
