package routing_test

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// observedLines returns what k reports as the daemon's, for the sysctls
// of the desired state of cfg and as.
func observedLines(t *testing.T, k routing.Kernel, names []string) []string {
	t.Helper()
	s, err := k.Observe(names)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return stateLines(s)
}

func mustContain(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func mustNotContain(t *testing.T, what, text string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(text, w) {
			t.Errorf("%s still has %q:\n%s", what, w, text)
		}
	}
}

func TestNetlinkVMCLifecycle(t *testing.T) {
	n := newTestNetns(t)
	for _, l := range []string{"eth1", "tap1", "tap2", "tap3"} {
		n.addLink(t, l)
	}
	// The operator's own state in the daemon's table and priority range.
	n.ip(t, "rule add iif tap2 lookup 500 pref 20200 protocol static")
	n.ip(t, "rule add iif eth1 lookup 500 pref 100")
	n.ip(t, "route add 198.51.100.0/24 dev eth1 table 500")
	n.ip(t, "-6 route add 2001:db8:99::/64 dev eth1 table 500")
	n.ip(t, "-6 neigh add proxy 2001:db8:1::99 dev eth1")

	cfg := vmcConfig()
	cfg.Tables = routing.TableNames{"other": 600}
	tap1 := vm("tap1", 101, "52:54:00:00:00:01", "192.0.2.10", true)
	tap2 := vm("tap2", 102, "52:54:00:00:00:02", "192.0.2.11", true)
	tap3 := vm("tap3", 103, "52:54:00:00:00:03", "", true)
	tap3.Table = "other"
	all := []*binding.Active{tap1, tap2, tap3}

	k := newNetlinkKernel(t, n)
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(binding.NewSnapshot(all)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	want, names := desiredLines(t, cfg, all...)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel after the first sync (-want +got):\n%s", diff)
	}
	rules := n.ip(t, "rule show")
	mustContain(t, "ip rule", rules,
		"20100:\tfrom all iif eth1 lookup 500 proto 157",
		"20200:\tfrom all iif tap1 lookup 500 proto 157",
		"20200:\tfrom all iif tap2 lookup 500 proto 157",
	)
	routes := n.ip(t, "route show table 500")
	mustContain(t, "ip route show table 500", routes,
		"default via 192.0.2.1 dev eth1 proto 157",
		"192.0.2.10 dev tap1 proto 157 scope link",
		"192.0.2.11 dev tap2 proto 157 scope link",
		"198.51.100.0/24 dev eth1",
	)
	mustContain(t, "ip -6 route show table 600", n.ip(t, "-6 route show table 600"), "2001:db8:1:0:5054:ff:fe00:3 dev tap3 proto 157")
	mustContain(t, "ip -6 neigh show proxy", n.ip(t, "-6 neigh show proxy"),
		"2001:db8:1:0:5054:ff:fe00:1 dev eth1 proxy proto 157",
		"2001:db8:1::99 dev eth1 proxy",
	)
	ruleset := n.exec(t, "nft", "list", "ruleset")
	mustContain(t, "nft ruleset", ruleset,
		"table arp nfdhcpd", `oifname "tap1"`, "arp saddr ip set 192.0.2.1",
		`oifname "eth1"`, "arp saddr ip set 192.0.2.254",
		"table inet nfdhcpd", `iifname "tap1" ip saddr != 192.0.2.10 drop`,
		`iifname "tap3" meta nfproto ipv4 drop`,
	)
	if got := strings.TrimSpace(n.exec(t, "cat", "/proc/sys/net/ipv4/conf/tap1/proxy_arp")); got != "1" {
		t.Errorf("tap1 proxy_arp = %s, want 1", got)
	}

	// Removing a binding removes exactly its entries.
	if err := r.Sync(binding.NewSnapshot([]*binding.Active{tap1, tap3})); err != nil {
		t.Fatalf("Sync without tap2: %v", err)
	}
	want, names = desiredLines(t, cfg, tap1, tap3)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel after removing tap2 (-want +got):\n%s", diff)
	}
	rules = n.ip(t, "rule show")
	mustContain(t, "ip rule", rules, "20200:\tfrom all iif tap2 lookup 500 proto static", "100:\tfrom all iif eth1 lookup 500")
	mustNotContain(t, "ip rule", rules, "iif tap2 lookup 500 proto 157")
	routes = n.ip(t, "route show table 500")
	mustContain(t, "ip route show table 500", routes, "198.51.100.0/24 dev eth1", "192.0.2.10 dev tap1")
	mustNotContain(t, "ip route show table 500", routes, "192.0.2.11")
	mustContain(t, "ip -6 route show table 500", n.ip(t, "-6 route show table 500"), "2001:db8:99::/64 dev eth1")
	neighs := n.ip(t, "-6 neigh show proxy")
	mustContain(t, "ip -6 neigh show proxy", neighs, "2001:db8:1::99 dev eth1 proxy")
	mustNotContain(t, "ip -6 neigh show proxy", neighs, "fe00:2")

	// A restart adopts the state: no rule, route or neighbour is touched,
	// only the nftables tables are rewritten (atomically) once.
	before := n.ip(t, "rule show") + n.ip(t, "route show table 500") + n.ip(t, "-6 route show table all proto 157") + n.ip(t, "-6 route show table 500") + n.ip(t, "-6 neigh show proxy")
	rec := &recordingKernel{Kernel: newNetlinkKernel(t, n)}
	restarted := routing.NewReconciler(cfg, rec, routing.Options{})
	if err := restarted.Sync(binding.NewSnapshot([]*binding.Active{tap1, tap3})); err != nil {
		t.Fatalf("Sync after restart: %v", err)
	}
	if len(rec.ops) != 1 || !strings.HasPrefix(rec.ops[0], "nft set ") {
		t.Errorf("a restart applied %q, want only the nftables rewrite", rec.ops)
	}
	rec.ops = nil
	restarted.Invalidate()
	if err := restarted.Sync(binding.NewSnapshot([]*binding.Active{tap1, tap3})); err != nil {
		t.Fatalf("full resync: %v", err)
	}
	if len(rec.ops) != 0 {
		t.Errorf("a full resync of an unchanged kernel applied %q", rec.ops)
	}
	after := n.ip(t, "rule show") + n.ip(t, "route show table 500") + n.ip(t, "-6 route show table all proto 157") + n.ip(t, "-6 route show table 500") + n.ip(t, "-6 neigh show proxy")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("kernel changed across a restart (-before +after):\n%s", diff)
	}

	// Removing everything leaves only the operator's state and the node role.
	if err := restarted.Sync(binding.NewSnapshot(nil)); err != nil {
		t.Fatalf("Sync with no bindings: %v", err)
	}
	routes = n.ip(t, "route show table all proto 157") + n.ip(t, "-6 route show table all proto 157")
	mustNotContain(t, "routes", routes, "tap1", "tap3")
	mustContain(t, "routes", routes, "default via 192.0.2.1 dev eth1 table 500")
	mustContain(t, "ip route show table 500", n.ip(t, "route show table 500"), "198.51.100.0/24 dev eth1")
	rules = n.ip(t, "rule show") + n.ip(t, "-6 rule show")
	mustNotContain(t, "rules", rules, "tap1", "tap3")
	ruleset = n.exec(t, "nft", "list", "ruleset")
	mustNotContain(t, "nft ruleset", ruleset, "tap1", "table inet nfdhcpd")
}

func TestNetlinkGatewayRole(t *testing.T) {
	n := newTestNetns(t)
	n.addLink(t, "eth1")
	n.addLink(t, "eth0")
	n.ip(t, "addr add 192.0.2.200/24 dev eth1") // the operator's own address
	cfg := vmcConfig()
	cfg.Role = routing.RoleGateway
	cfg.WAN = "eth0"
	k := newNetlinkKernel(t, n)
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(binding.NewSnapshot(nil)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	want, names := desiredLines(t, cfg)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
	addrs := n.ip(t, "addr show dev eth1")
	mustContain(t, "ip addr", addrs, "inet 192.0.2.1/24", "inet 192.0.2.200/24", "inet6 2001:db8:1::1/64")
	mustContain(t, "nft ruleset", n.exec(t, "nft", "list", "ruleset"), `ip saddr 192.0.2.0/24 oifname "eth0" masquerade`)
	if got := strings.TrimSpace(n.exec(t, "cat", "/proc/sys/net/ipv4/conf/all/forwarding")); got != "1" {
		t.Errorf("forwarding = %s, want 1", got)
	}

	// Switching the node to role none removes the daemon's address and
	// NAT, and only those.
	cfg.Role = routing.RoleNone
	r = routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(binding.NewSnapshot(nil)); err != nil {
		t.Fatalf("Sync as none: %v", err)
	}
	addrs = n.ip(t, "addr show dev eth1")
	mustContain(t, "ip addr", addrs, "inet 192.0.2.200/24")
	mustNotContain(t, "ip addr", addrs, "192.0.2.1/24", "2001:db8:1::1/64")
	if ruleset := n.exec(t, "nft", "list", "ruleset"); strings.Contains(ruleset, "nfdhcpd") {
		t.Errorf("nft ruleset still has the daemon's tables:\n%s", ruleset)
	}
	got := observedLines(t, k, nil)
	if len(slices.DeleteFunc(got, func(l string) bool { return strings.HasPrefix(l, "nft") })) != 0 {
		t.Errorf("the daemon still owns %q", got)
	}
}

func TestNetlinkTapDeletedAndRecreated(t *testing.T) {
	n := newTestNetns(t)
	n.addLink(t, "eth1")
	n.addLink(t, "tap1")
	cfg := vmcConfig()
	k := newNetlinkKernel(t, n)
	r := routing.NewReconciler(cfg, k, routing.Options{})
	tap1 := vm("tap1", 101, "52:54:00:00:00:01", "192.0.2.10", true)
	if err := r.Sync(binding.NewSnapshot([]*binding.Active{tap1})); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	// Recreated under the same name (a new index): routed again.
	n.ip(t, "link del tap1")
	n.addLink(t, "tap1")
	recreated := vm("tap1", 102, "52:54:00:00:00:01", "192.0.2.10", true)
	if err := r.Sync(binding.NewSnapshot([]*binding.Active{recreated})); err != nil {
		t.Fatalf("Sync after the TAP was recreated: %v", err)
	}
	want, names := desiredLines(t, cfg, recreated)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel after the TAP was recreated (-want +got):\n%s", diff)
	}

	// Deleted before its binding file: removing the binding is clean.
	n.ip(t, "link del tap1")
	if err := r.Sync(binding.NewSnapshot(nil)); err != nil {
		t.Fatalf("Sync after the TAP went first: %v", err)
	}
	want, names = desiredLines(t, cfg)
	if diff := cmp.Diff(want, observedLines(t, k, names)); diff != "" {
		t.Errorf("kernel after the binding went (-want +got):\n%s", diff)
	}
}

// A thousand bindings with antispoof and ARP sender rewriting make one
// nftables transaction of some 3,000 rules, whose acknowledgements
// overflowed the socket's default receive buffer.
func TestNetlinkFilterOfAThousandBindings(t *testing.T) {
	n := newTestNetns(t)
	k := newNetlinkKernel(t, n)
	f := &routing.Filter{}
	for i := range 1000 {
		tap := fmt.Sprintf("tap%d", i)
		f.ARPSenders = append(f.ARPSenders, routing.ARPSender{Dev: tap, Sender: netip.MustParseAddr("192.0.2.1")})
		f.Antispoof = append(f.Antispoof,
			routing.Antispoof{Dev: tap, Source: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})},
			routing.Antispoof{Dev: tap, V6: true})
	}
	if err := k.Apply(routing.Op{Action: routing.Set, Entry: f}); err != nil {
		t.Fatalf("set a filter of %d rules: %v", len(f.ARPSenders)+len(f.Antispoof), err)
	}
	if _, err := exec.LookPath("nft"); err == nil {
		out := n.exec(t, "nft", "list", "ruleset")
		if got := strings.Count(out, "drop"); got != 2000 {
			t.Errorf("the kernel holds %d antispoof rules, want 2000", got)
		}
	}
}
