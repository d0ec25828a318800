package routing

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Protocol is the route protocol number (rtm_protocol) that marks the
// routes, rules, proxy neighbours and addresses the daemon installs. 157 is
// not assigned in the kernel's rtnetlink.h nor in iproute2's rt_protos;
// `echo "157 nfdhcpd" >> /etc/iproute2/rt_protos.d/nfdhcpd.conf` lets ip(8)
// print it by name.
const Protocol = 157

// The daemon's policy rules use priorities in [RulePriorityMin,
// RulePriorityMax]; rules outside the range are never touched, whatever
// their protocol.
const (
	RulePriorityMin = 20000
	RulePriorityMax = 20999
	// NodeRulePriority orders the node-level rules (from the uplink, to the
	// subnet).
	NodeRulePriority = 20100
	// BindingRulePriority orders the per-binding rules (from a TAP).
	BindingRulePriority = 20200
)

// TableName names the daemon's nftables tables, one in family inet (the
// antispoof filter and masquerading), one in family arp (the ARP sender
// rewriting) and one in family bridge (the bridge guard).
const TableName = "nfdhcpd"

// MainTable is the kernel's main routing table.
const MainTable = 254

// An Entry is one piece of kernel state.
type Entry interface {
	// kind names the kind of entry in text lines ("rule", "route", …).
	kind() string
	// String describes the entry the way ip(8) would, without the kind;
	// two entries are the same kernel object when their strings are equal.
	String() string
}

// A Rule is a policy routing rule: traffic from interface IIF, or to
// network To, looks up Table.
type Rule struct {
	V6       bool
	IIF      string
	To       netip.Prefix
	Table    int
	Priority int
}

func (Rule) kind() string { return "rule" }

func (r Rule) String() string {
	var b strings.Builder
	if r.V6 {
		b.WriteString("-6 ")
	}
	if r.IIF != "" {
		fmt.Fprintf(&b, "iif %s ", r.IIF)
	}
	if r.To.IsValid() {
		fmt.Fprintf(&b, "to %s ", r.To)
	}
	fmt.Fprintf(&b, "lookup %d pref %d", r.Table, r.Priority)
	return b.String()
}

// A Route is a unicast route to Dst through device Dev in Table, via
// gateway Via when it is valid.
type Route struct {
	Dst   netip.Prefix
	Via   netip.Addr
	Dev   string
	Table int
	// OnLink marks the gateway as on Dev without an address of Dev's
	// covering it (RTNH_F_ONLINK): a VM behind a TAP that has none. BIRD
	// learns a gateway route from the kernel only when its gateway is in
	// one of the interface's networks or marked so ("strange next-hop").
	OnLink bool
}

func (Route) kind() string { return "route" }

func (r Route) String() string {
	var b strings.Builder
	b.WriteString(r.Dst.String())
	if r.Via.IsValid() {
		fmt.Fprintf(&b, " via %s", r.Via)
	}
	fmt.Fprintf(&b, " dev %s table %d", r.Dev, r.Table)
	if r.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// A ProxyNeigh makes the host answer neighbour solicitations for Addr on
// Dev (ip -6 neigh add proxy ADDR dev DEV).
type ProxyNeigh struct {
	Addr netip.Addr
	Dev  string
}

func (ProxyNeigh) kind() string { return "neigh" }

func (n ProxyNeigh) String() string { return fmt.Sprintf("proxy %s dev %s", n.Addr, n.Dev) }

// An Addr is an address of the host on Dev (the gateway's address on the
// router roles).
type Addr struct {
	Prefix netip.Prefix // the address and its prefix length
	Dev    string
}

func (Addr) kind() string { return "addr" }

func (a Addr) String() string { return fmt.Sprintf("%s dev %s", a.Prefix, a.Dev) }

// A Sysctl is a value under /proc/sys. Name uses slashes so that interface
// names with dots (eth0.500) stay unambiguous: "net/ipv4/conf/tap1/proxy_arp".
type Sysctl struct {
	Name  string
	Value string
}

func (Sysctl) kind() string { return "sysctl" }

func (s Sysctl) String() string { return s.Name + " " + s.Value }

// A State is a complete set of the daemon's kernel state, as plain values:
// what it wants (Desired) or what the kernel holds (a Kernel's Observe).
type State struct {
	Rules   []Rule
	Routes  []Route
	Neighs  []ProxyNeigh
	Addrs   []Addr
	Sysctls []Sysctl
	// Filter is the content of the daemon's nftables tables; nil in an
	// observed state means unknown, so the next Diff rewrites it.
	Filter *Filter
	// Guard is the bridge guard's table (nil: none wanted, or none in the
	// kernel) and GuardElems the elements of its sets.
	Guard      *GuardTable
	GuardElems []GuardElem
	// Announce lists the VM addresses to announce on their uplink when
	// their host route is added. It is not kernel state: Diff ignores it.
	Announce []Announcement
}

// An Announcement says that Addr is now reachable through this host on
// the uplink Dev: a gratuitous ARP (IPv4) or an unsolicited NA (IPv6).
type Announcement struct {
	Addr netip.Addr
	Dev  string
	// Route is the host route whose addition triggers the announcement.
	Route Route
}

// normalize sorts every list by its text form and drops duplicates, so
// that equal states compare and print equal. For sysctls the first value
// given for a name wins.
func (s *State) normalize() {
	s.Rules = sortedUnique(s.Rules)
	s.Routes = sortedUnique(s.Routes)
	s.Neighs = sortedUnique(s.Neighs)
	s.Addrs = sortedUnique(s.Addrs)
	s.GuardElems = sortedUnique(s.GuardElems)
	seen := make(map[string]bool, len(s.Sysctls))
	sysctls := s.Sysctls[:0]
	for _, sc := range s.Sysctls {
		if !seen[sc.Name] {
			seen[sc.Name] = true
			sysctls = append(sysctls, sc)
		}
	}
	slices.SortFunc(sysctls, func(a, b Sysctl) int { return strings.Compare(a.Name, b.Name) })
	s.Sysctls = sysctls
	if s.Filter != nil {
		s.Filter.normalize()
	}
}

func sortedUnique[E Entry](es []E) []E {
	// Each text form is made once: sorting thousands of entries (the
	// bridge guard's elements) would otherwise format each some 25 times.
	type keyed struct {
		key string
		e   E
	}
	ks := make([]keyed, len(es))
	for i, e := range es {
		ks[i] = keyed{e.String(), e}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	ks = slices.CompactFunc(ks, func(a, b keyed) bool { return a.key == b.key })
	out := es[:0]
	for _, k := range ks {
		out = append(out, k.e)
	}
	return out
}

// Lines returns the state as text lines, one per entry ("rule iif tap1
// lookup 500 pref 20200"), in a stable order: a readable dump for the
// status view and for golden tests.
func (s *State) Lines() []string {
	var lines []string
	add := func(e Entry) { lines = append(lines, e.kind()+" "+e.String()) }
	for _, e := range s.Addrs {
		add(e)
	}
	for _, e := range s.Routes {
		add(e)
	}
	for _, e := range s.Neighs {
		add(e)
	}
	for _, e := range s.Rules {
		add(e)
	}
	for _, e := range s.Sysctls {
		add(e)
	}
	if s.Filter != nil {
		lines = append(lines, s.Filter.Lines()...)
	}
	if s.Guard != nil {
		add(*s.Guard)
	}
	for _, e := range s.GuardElems {
		add(e)
	}
	return lines
}
