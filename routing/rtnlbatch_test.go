package routing_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

// TestNetlinkApplyBatch: a run of rules, routes and proxy neighbours sent
// many to a write gives every op the outcome of its own request (a bad
// one fails alone, those after it still apply), adding what exists and
// deleting what is gone succeed, and the kernel ends up as with Apply one
// at a time: the same entries, marked as the daemon's.
func TestNetlinkApplyBatch(t *testing.T) {
	n := newTestNetns(t)
	n.addLink(t, "tap1")
	n.addLink(t, "eth1")
	k := newNetlinkKernel(t, n)

	var ops []routing.Op
	add := func(e routing.Entry) { ops = append(ops, routing.Op{Action: routing.Add, Entry: e}) }
	// More than one write's worth (256 requests), in both families.
	for i := range 300 {
		add(routing.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32), Dev: "tap1", Table: 500 + i/256})
	}
	add(routing.Route{Dst: netip.MustParsePrefix("192.0.2.10/32"), Dev: "tap1", Table: 500})
	add(routing.Route{Dst: netip.MustParsePrefix("198.51.100.144/28"), Via: netip.MustParseAddr("192.0.2.10"), Dev: "tap1", Table: 500, OnLink: true})
	bad := len(ops)
	// Not on-link and not routed in table 600: the kernel refuses it.
	add(routing.Route{Dst: netip.MustParsePrefix("198.51.100.160/28"), Via: netip.MustParseAddr("203.0.113.1"), Dev: "tap1", Table: 600})
	add(routing.Route{Dst: netip.MustParsePrefix("2001:db8:100::/56"), Via: netip.MustParseAddr("fe80::5054:ff:fe00:1"), Dev: "tap1", Table: 500})
	missing := len(ops)
	add(routing.Route{Dst: netip.MustParsePrefix("192.0.2.11/32"), Dev: "tap9", Table: 500})
	add(routing.Rule{IIF: "tap1", Table: 500, Priority: routing.BindingRulePriority})
	add(routing.Rule{V6: true, IIF: "tap1", Table: 500, Priority: routing.BindingRulePriority})
	add(routing.Rule{To: netip.MustParsePrefix("192.0.2.0/24"), Table: 500, Priority: routing.NodeRulePriority})
	add(routing.ProxyNeigh{Addr: netip.MustParseAddr("2001:db8:1::11"), Dev: "eth1"})

	errs := k.ApplyBatch(ops)
	for i, err := range errs {
		switch i {
		case bad:
			var errno unix.Errno
			if !errors.As(err, &errno) {
				t.Errorf("op %d (%s): err %v, want the kernel's refusal", i, ops[i], err)
			}
		case missing:
			if !errors.Is(err, unix.ENODEV) {
				t.Errorf("op %d (%s): err %v, want ENODEV", i, ops[i], err)
			}
		default:
			if err != nil {
				t.Errorf("op %d (%s): %v", i, ops[i], err)
			}
		}
	}
	got, err := k.Observe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Routes) != 303 || len(got.Rules) != 3 || len(got.Neighs) != 1 {
		t.Errorf("the kernel holds %d routes, %d rules, %d proxy neighbours; want 303, 3, 1:\n%s",
			len(got.Routes), len(got.Rules), len(got.Neighs), strings.Join(got.Lines(), "\n"))
	}
	if out := n.ip(t, "route show table 500 198.51.100.144/28"); !strings.Contains(out, "onlink") || !strings.Contains(out, "proto 157") {
		t.Errorf("the routed prefix: %q, want onlink, proto 157", out)
	}

	// Again: adding what exists succeeds. Then everything deleted, twice.
	var good []routing.Op
	for i, op := range ops {
		if i != bad && i != missing {
			good = append(good, op)
		}
	}
	ops = good
	for _, err := range k.ApplyBatch(ops) {
		if err != nil {
			t.Errorf("adding again: %v", err)
		}
	}
	for round := range 2 {
		dels := make([]routing.Op, len(ops))
		for i, op := range ops {
			dels[i] = routing.Op{Action: routing.Del, Entry: op.Entry}
		}
		for i, err := range k.ApplyBatch(dels) {
			if err != nil {
				t.Errorf("delete round %d, %s: %v", round, dels[i], err)
			}
		}
	}
	got, _ = k.Observe(nil)
	if lines := got.Lines(); len(got.Routes)+len(got.Rules)+len(got.Neighs) != 0 {
		t.Errorf("left after deleting:\n%s", strings.Join(lines, "\n"))
	}
}
