package routing_test

import (
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// vmAll is tap1's VM with every address key set.
func vmAll() *binding.Active {
	a := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	a.Addresses = binding.Addresses{
		IPs:        []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("198.51.100.7")},
		IPs6:       []netip.Addr{netip.MustParseAddr("2001:db8:1::11")},
		Routed4:    []netip.Prefix{netip.MustParsePrefix("198.51.100.16/28")},
		Routed6:    []netip.Prefix{netip.MustParsePrefix("2001:db8:200::/64")},
		Delegated6: []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56")},
		Prefix6:    netip.MustParsePrefix("2001:db8:2:1::/64"),
	}
	return a
}

func TestDesiredAddresses(t *testing.T) {
	cfg := vmcConfig()
	got, err := routing.Desired(cfg, []*binding.Active{vmAll()})
	if err != nil {
		t.Fatal(err)
	}
	var perTap []string
	for _, l := range got.Lines() {
		if strings.Contains(l, "tap1") || strings.Contains(l, "proxy ") {
			perTap = append(perTap, l)
		}
	}
	want := []string{
		"route 192.0.2.10/32 dev tap1 table 500",
		"route 192.0.2.11/32 dev tap1 table 500",
		"route 198.51.100.16/28 via 192.0.2.10 dev tap1 table 500 onlink",
		"route 198.51.100.7/32 dev tap1 table 500",
		"route 2001:db8:100::/56 via 2001:db8:1:0:5054:ff:fe00:1 dev tap1 table 500",
		"route 2001:db8:1:0:5054:ff:fe00:1/128 dev tap1 table 500",
		"route 2001:db8:1::11/128 dev tap1 table 500",
		"route 2001:db8:200::/64 via 2001:db8:1:0:5054:ff:fe00:1 dev tap1 table 500",
		"route 2001:db8:2:1::/64 dev tap1 table 500",
		"neigh proxy 2001:db8:1:0:5054:ff:fe00:1 dev eth1",
		"neigh proxy 2001:db8:1::11 dev eth1",
		"rule -6 iif tap1 lookup 500 pref 20200",
		"rule iif tap1 lookup 500 pref 20200",
		"sysctl net/ipv4/conf/tap1/forwarding 1",
		"sysctl net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl net/ipv4/neigh/tap1/proxy_delay 0",
		"sysctl net/ipv6/conf/tap1/proxy_ndp 0",
		"nft arp output oifname tap1 request sender 192.0.2.1",
		"nft forward iifname tap1 ip saddr != @src4_tap1 { 192.0.2.10, 192.0.2.11, 198.51.100.7, 198.51.100.16/28 } drop",
		"nft forward iifname tap1 ip6 saddr != @src6_tap1 { 2001:db8:1:0:5054:ff:fe00:1, 2001:db8:1::11, 2001:db8:200::/64, 2001:db8:100::/56, 2001:db8:2:1::/64 } drop",
	}
	if diff := cmp.Diff(want, perTap); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	var ann []string
	for _, a := range got.Announce {
		ann = append(ann, a.Addr.String()+" on "+a.Dev+" after "+a.Route.String())
	}
	wantAnn := []string{
		"192.0.2.10 on eth1 after 192.0.2.10/32 dev tap1 table 500",
		"2001:db8:1:0:5054:ff:fe00:1 on eth1 after 2001:db8:1:0:5054:ff:fe00:1/128 dev tap1 table 500",
		"192.0.2.11 on eth1 after 192.0.2.11/32 dev tap1 table 500",
		"198.51.100.7 on eth1 after 198.51.100.7/32 dev tap1 table 500",
		"2001:db8:1::11 on eth1 after 2001:db8:1::11/128 dev tap1 table 500",
	}
	if diff := cmp.Diff(wantAnn, ann); diff != "" {
		t.Errorf("announcements (-want +got):\n%s", diff)
	}
}

// TestAddressesLifecycle adds the binding with every key, restarts, and
// removes the keys and then the binding: each step changes exactly what
// it must, a restart nothing, and every address is announced once.
func TestAddressesLifecycle(t *testing.T) {
	cfg := vmcConfig()
	k := newFakeKernel()
	k.links["eth1"] = routing.Link{Index: 7, MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0xe1}, LinkLocal: netip.MustParseAddr("fe80::e1")}
	sender := &fakeSender{}
	r := routing.NewReconciler(cfg, k, routing.Options{Sender: sender})
	plain := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	other := vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.20", true)
	if err := r.Sync(snapshot(plain, other)); err != nil {
		t.Fatal(err)
	}
	base, names := desiredLines(t, cfg, plain, other)
	k.takeLog()
	sender.take()

	all := vmAll()
	if err := r.Sync(snapshot(all, other)); err != nil {
		t.Fatal(err)
	}
	wantOps := []string{
		"route add 192.0.2.11/32 dev tap1 table 500",
		"route add 198.51.100.7/32 dev tap1 table 500",
		"route add 2001:db8:1::11/128 dev tap1 table 500",
		"route add 2001:db8:2:1::/64 dev tap1 table 500",
		"route add 198.51.100.16/28 via 192.0.2.10 dev tap1 table 500 onlink",
		"route add 2001:db8:100::/56 via 2001:db8:1:0:5054:ff:fe00:1 dev tap1 table 500",
		"route add 2001:db8:200::/64 via 2001:db8:1:0:5054:ff:fe00:1 dev tap1 table 500",
		"neigh add proxy 2001:db8:1::11 dev eth1",
	}
	ops := k.takeLog()
	if len(ops) == 0 || !strings.HasPrefix(ops[len(ops)-1], "nft set ") {
		t.Fatalf("ops %q: want the filter rewritten last", ops)
	}
	if diff := cmp.Diff(wantOps, ops[:len(ops)-1]); diff != "" {
		t.Errorf("ops adding the keys (-want +got):\n%s", diff)
	}
	wantAnn := []string{
		"7 ARP 192.0.2.11 is-at 02:00:00:00:00:e1",
		"7 ARP 198.51.100.7 is-at 02:00:00:00:00:e1",
		"7 NA 2001:db8:1::11 is-at 02:00:00:00:00:e1 from fe80::e1",
	}
	if diff := cmp.Diff(wantAnn, describeFrames(t, sender.take())); diff != "" {
		t.Errorf("announcements (-want +got):\n%s", diff)
	}

	// A restarted daemon adopts everything: no op, no announcement.
	restarted := routing.NewReconciler(cfg, k, routing.Options{Sender: sender})
	if err := restarted.Sync(snapshot(all, other)); err != nil {
		t.Fatal(err)
	}
	if got := k.takeLog(); len(got) != 0 {
		t.Errorf("a restart made ops: %q", got)
	}

	// Dropping the keys again leaves exactly the plain binding's state.
	if err := restarted.Sync(snapshot(plain, other)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(base, k.lines(names)); diff != "" {
		t.Errorf("kernel state after dropping the keys (-want +got):\n%s", diff)
	}
	// And a migration: the binding goes, then comes back on another
	// TAP; every address is announced again.
	if err := restarted.Sync(snapshot(other)); err != nil {
		t.Fatal(err)
	}
	moved := vmAll()
	moved.Name, moved.Indev, moved.TapIndex = "tap9", "tap9", 19
	sender.take()
	if err := restarted.Sync(snapshot(other, moved)); err != nil {
		t.Fatal(err)
	}
	if got := describeFrames(t, sender.take()); len(got) != 5 {
		t.Errorf("after the move %d announcements, want 5 (IP, EUI64, 2 IPS, 1 IPS6): %q", len(got), got)
	}
}

// TestNetlinkAddresses installs a binding with every address key into a
// namespace: the kernel accepts the routes via the VM and the nftables
// sets, a second reconciler adopts them without an op, and removal leaves
// nothing of the binding.
func TestNetlinkAddresses(t *testing.T) {
	n := newTestNetns(t)
	for _, l := range []string{"eth1", "tap1"} {
		n.addLink(t, l)
	}
	cfg := vmcConfig()
	k := newNetlinkKernel(t, n)
	r := routing.NewReconciler(cfg, k, routing.Options{})
	all := vmAll()
	if err := r.Sync(binding.NewSnapshot([]*binding.Active{all})); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	want, names := desiredLines(t, cfg, all)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel after the first sync (-want +got):\n%s", diff)
	}
	mustContain(t, "ip route show table 500", n.ip(t, "route show table 500"),
		"198.51.100.16/28 via 192.0.2.10 dev tap1 proto 157 onlink",
		"198.51.100.7 dev tap1 proto 157 scope link")
	mustContain(t, "ip -6 route show table 500", n.ip(t, "-6 route show table 500"),
		"2001:db8:100::/56 via 2001:db8:1:0:5054:ff:fe00:1 dev tap1 proto 157",
		"2001:db8:2:1::/64 dev tap1 proto 157")
	mustContain(t, "ip -6 neigh show proxy", n.ip(t, "-6 neigh show proxy"), "2001:db8:1::11 dev eth1 proxy proto 157")
	ruleset := n.exec(t, "nft", "list", "table", "inet", "nfdhcpd")
	mustContain(t, "nft table", ruleset,
		"set src4_tap1", "192.0.2.10/31", "198.51.100.7", "198.51.100.16/28",
		"set src6_tap1", "2001:db8:2:1::/64", "2001:db8:100::/56",
		`iifname "tap1" ip saddr != @src4_tap1 drop`, `iifname "tap1" ip6 saddr != @src6_tap1 drop`)

	rec := &recordingKernel{Kernel: k}
	again := routing.NewReconciler(cfg, rec, routing.Options{})
	if err := again.Sync(binding.NewSnapshot([]*binding.Active{all})); err != nil {
		t.Fatal(err)
	}
	if len(rec.ops) != 0 {
		t.Errorf("a second reconciler made ops: %q", rec.ops)
	}
	if err := again.Sync(binding.NewSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	for _, argv := range []string{"route show table 500", "-6 route show table 500", "-6 neigh show proxy", "rule show"} {
		// An emptied IPv6 table ceases to exist: ip then fails.
		out, _ := exec.Command("ip", append([]string{"-n", n.name}, strings.Fields(argv)...)...).CombinedOutput()
		if strings.Contains(string(out), "tap1") || strings.Contains(string(out), "2001:db8:1::11") {
			t.Errorf("ip %s after removal:\n%s", argv, out)
		}
	}
}

// TestDesiredAddressesBGP: with announce = bgp the extra addresses get
// their routes but no proxy entries or announcements, as IP and EUI64.
func TestDesiredAddressesBGP(t *testing.T) {
	cfg := vmcConfig()
	cfg.Announce = routing.AnnounceBGP
	got, err := routing.Desired(cfg, []*binding.Active{vmAll()})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(got.Lines(), "\n")
	for _, want := range []string{
		"route 192.0.2.11/32 dev tap1 table 500", "route 2001:db8:1::11/128 dev tap1 table 500",
		// Next hops BIRD can learn: onlink, or the VM's EUI-64 link-local address.
		"route 198.51.100.16/28 via 192.0.2.10 dev tap1 table 500 onlink",
		"route 2001:db8:100::/56 via fe80::5054:ff:fe00:1 dev tap1 table 500",
		"route 2001:db8:200::/64 via fe80::5054:ff:fe00:1 dev tap1 table 500",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("no %q in:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, "neigh proxy") || len(got.Announce) != 0 {
		t.Errorf("proxy entries or announcements with announce = bgp:\n%s\n%v", lines, got.Announce)
	}
}

func TestRouterRoutes(t *testing.T) {
	got := routing.RouterRoutes(&vmAll().Binding, "eth1")
	want := []string{
		"ip route replace 198.51.100.16/28 via 192.0.2.10 dev eth1",
		"ip -6 route replace 2001:db8:200::/64 via 2001:db8:1:0:5054:ff:fe00:1 dev eth1",
		"ip -6 route replace 2001:db8:100::/56 via 2001:db8:1:0:5054:ff:fe00:1 dev eth1",
		"ip -6 route replace 2001:db8:2:1::/64 via 2001:db8:1:0:5054:ff:fe00:1 dev eth1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RouterRoutes (-want +got):\n%s", diff)
	}
	if got := routing.RouterRoutes(&vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.20", true).Binding, "eth1"); len(got) != 0 {
		t.Errorf("a binding without prefixes needs routes: %q", got)
	}
}

// TestGuardAddresses: the bridge guard lets a VM send from its IPS and
// IPS6 too.
func TestGuardAddresses(t *testing.T) {
	cfg := routing.DefaultConfig()
	cfg.BridgeGuard = true
	got, err := routing.Desired(cfg, []*binding.Active{vmAll()})
	if err != nil {
		t.Fatal(err)
	}
	var elems []string
	for _, e := range got.GuardElems {
		elems = append(elems, e.String())
	}
	all := strings.Join(elems, "\n")
	for _, want := range []string{"port_ipv4 tap1 . 192.0.2.11", "port_ipv4 tap1 . 198.51.100.7", "port_ipv6 tap1 . 2001:db8:1::11", "port_target tap1 . 2001:db8:1::11"} {
		if !strings.Contains(all, want) {
			t.Errorf("no guard element %q in:\n%s", want, all)
		}
	}
}
