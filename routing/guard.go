package routing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// The bridge guard is the daemon's table in nftables' bridge family: on a
// bridged network it keeps each bound VM from speaking for its neighbours.
// Its rules are static (GuardRules); what each VM may send lives in sets
// keyed by the TAP's name, so that a thousand bindings are a few thousand
// set elements behind the same twenty rules, and adding or removing one
// binding touches only its own elements.

// The guard's sets. Every element starts with the TAP's name.
const (
	// GuardSetPorts holds the guarded TAPs: frames from any other port
	// pass untouched. Its name sorts after the other sets' ("port_…"), so
	// that the ops of one binding, applied in sorted order, add a TAP
	// here after its other elements and delete it after them: a TAP half
	// written is dropped, never waved through.
	GuardSetPorts = "ports"
	// GuardSetMACSpoof holds the TAPs whose binding has MACSPOOF: their
	// Ethernet and ARP sender MACs are not checked.
	GuardSetMACSpoof = "macspoof"
	// GuardSetMAC holds TAP . MAC, the one source MAC of each TAP.
	GuardSetMAC = "port_mac"
	// GuardSetIPv4 holds TAP . address, the IPv4 sources of each TAP.
	GuardSetIPv4 = "port_ipv4"
	// GuardSetIPv6 holds TAP . address, the IPv6 sources of each TAP: its
	// address and the link-local address of its MAC.
	GuardSetIPv6 = "port_ipv6"
	// GuardSetTarget holds the same addresses as GuardSetIPv6, typed for
	// the neighbour advertisement's target field (nft cannot look a raw
	// payload up in a set of IPv6 addresses).
	GuardSetTarget = "port_target"
)

// GuardSets lists the guard's sets in the order they are declared.
var GuardSets = []string{GuardSetPorts, GuardSetMACSpoof, GuardSetMAC, GuardSetIPv4, GuardSetIPv6, GuardSetTarget}

// The guard's named counters, one per kind of frame it drops.
const (
	GuardCounterMAC        = "mac"         // Ethernet source not the VM's
	GuardCounterTagged     = "tagged"      // 802.1Q/802.1ad frames, which would dodge the checks
	GuardCounterDHCPServer = "dhcp_server" // DHCPv4/DHCPv6 server traffic
	GuardCounterRouter     = "router"      // router advertisements and redirects
	GuardCounterARP        = "arp_sender"  // ARP sender MAC or IP not the VM's
	GuardCounterIPv4       = "ipv4"        // IPv4 source not the VM's
	GuardCounterIPv6       = "ipv6"        // IPv6 source not the VM's
	GuardCounterNA         = "na_target"   // neighbour advertisement for another address
)

// GuardCounters lists the counters in the order they are declared.
var GuardCounters = []string{
	GuardCounterMAC, GuardCounterTagged, GuardCounterDHCPServer, GuardCounterRouter,
	GuardCounterARP, GuardCounterIPv4, GuardCounterIPv6, GuardCounterNA,
}

// A guardRule is one rule of the guard chain: its nft syntax (what
// `nfdhcpd rules -format nft-bridge` prints) and what the netlink
// expressions in guard_nft.go build. The two are kept equivalent by
// TestGuardTableMatchesNftScript.
type guardRule struct {
	text string
	kind guardRuleKind
	// counter is the named counter of a drop rule.
	counter string
}

// guardRuleKind names the expression builder of a rule (guard_nft.go).
type guardRuleKind int

const (
	ruleMAC guardRuleKind = iota
	ruleTagged8021Q
	ruleTagged8021AD
	ruleDHCPv4Server
	ruleDHCPv6Server
	ruleRA
	ruleRedirect
	ruleARPLayout
	ruleARPSenderMAC
	ruleARPProbe
	ruleARPSenderIP
	ruleDHCPv4Client
	ruleIPv4Source
	ruleDADNS
	ruleDADMLD
	ruleIPv6Source
	ruleNATarget
)

// guardRules are the rules of the guard chain, in order. The checks that
// drop come before the two exceptions that accept (a DHCP client without
// an address, duplicate address detection), so that an accepted frame has
// passed every check that applies to it.
var guardRules = []guardRule{
	{`iifname != @macspoof iifname . ether saddr != @port_mac counter name "mac" drop`, ruleMAC, GuardCounterMAC},
	{`ether type 8021q counter name "tagged" drop`, ruleTagged8021Q, GuardCounterTagged},
	{`ether type 8021ad counter name "tagged" drop`, ruleTagged8021AD, GuardCounterTagged},
	{`ether type ip udp sport 67 counter name "dhcp_server" drop`, ruleDHCPv4Server, GuardCounterDHCPServer},
	{`ether type ip6 udp sport 547 counter name "dhcp_server" drop`, ruleDHCPv6Server, GuardCounterDHCPServer},
	{`ether type ip6 icmpv6 type nd-router-advert counter name "router" drop`, ruleRA, GuardCounterRouter},
	{`ether type ip6 icmpv6 type nd-redirect counter name "router" drop`, ruleRedirect, GuardCounterRouter},
	// Ethernet/IPv4 ARP only: the offsets of the sender fields below
	// assume hardware type 1, protocol IPv4, lengths 6 and 4.
	{`ether type arp @nh,0,48 != 0x000108000604 counter name "arp_sender" drop`, ruleARPLayout, GuardCounterARP},
	{`ether type arp iifname != @macspoof iifname . arp saddr ether != @port_mac counter name "arp_sender" drop`, ruleARPSenderMAC, GuardCounterARP},
	// An ARP probe (RFC 5227) has no sender address yet.
	{`ether type arp arp operation request arp saddr ip 0.0.0.0 accept`, ruleARPProbe, ""},
	{`ether type arp iifname . arp saddr ip != @port_ipv4 counter name "arp_sender" drop`, ruleARPSenderIP, GuardCounterARP},
	// A DHCP client before it has an address.
	{`ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept`, ruleDHCPv4Client, ""},
	{`ether type ip iifname . ip saddr != @port_ipv4 counter name "ipv4" drop`, ruleIPv4Source, GuardCounterIPv4},
	// Duplicate address detection: the NS and the MLD report that joins
	// the solicited-node group come from the unspecified address.
	{`ether type ip6 ip6 saddr :: icmpv6 type nd-neighbor-solicit accept`, ruleDADNS, ""},
	{`ether type ip6 ip6 saddr :: icmpv6 type mld2-listener-report accept`, ruleDADMLD, ""},
	{`ether type ip6 iifname . ip6 saddr != @port_ipv6 counter name "ipv6" drop`, ruleIPv6Source, GuardCounterIPv6},
	{`ether type ip6 icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @port_target counter name "na_target" drop`, ruleNATarget, GuardCounterNA},
}

// guardSetDecls are the set declarations of the nft script.
var guardSetDecls = map[string]string{
	GuardSetPorts:    "type ifname;",
	GuardSetMACSpoof: "type ifname;",
	GuardSetMAC:      "type ifname . ether_addr;",
	GuardSetIPv4:     "type ifname . ipv4_addr;",
	GuardSetIPv6:     "type ifname . ipv6_addr;",
	GuardSetTarget:   "typeof iifname . @th,64,128;",
}

// GuardChainPriority is the priority of the guard's prerouting chain:
// bridge filter (-200), before bridge netfilter (0) hands IP frames to the
// iptables rules that queue the VMs' requests to the daemon.
const GuardChainPriority = -200

// guardStaticLines returns the body of the guard table without its
// version comment.
func guardStaticLines() []string {
	var l []string
	for _, c := range GuardCounters {
		l = append(l, fmt.Sprintf("\tcounter %s {\n\t}", c))
	}
	for _, s := range GuardSets {
		l = append(l, fmt.Sprintf("\tset %s {\n\t\t%s\n\t}", s, guardSetDecls[s]))
	}
	l = append(l, "\tchain guard {")
	for _, r := range guardRules {
		l = append(l, "\t\t"+r.text)
	}
	return append(l, "\t}")
}

// GuardVersion fingerprints the guard's static part. It is the comment of
// the prerouting rule, so that a daemon finding a table with another
// version (an older daemon's) rebuilds it instead of adopting it.
var GuardVersion = func() string {
	sum := sha256.Sum256([]byte(strings.Join(guardStaticLines(), "\n")))
	return hex.EncodeToString(sum[:6])
}()

// guardComment is the prerouting rule's comment.
func guardComment() string { return guardCommentPrefix + GuardVersion }

const guardCommentPrefix = "nfdhcpd bridge guard "

// GuardScript returns the guard's static part as an nft script (nft -f):
// the table, its counters, empty sets and rules, replacing any earlier
// version of the table.
func GuardScript() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s\ndelete table bridge %s\ntable bridge %s {\n", TableName, TableName, TableName)
	for _, l := range guardStaticLines() {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "\tchain prerouting {\n\t\ttype filter hook prerouting priority %d; policy accept;\n", GuardChainPriority)
	fmt.Fprintf(&b, "\t\tiifname @ports jump guard comment %q\n\t}\n}\n", guardComment())
	return b.String()
}

// A GuardTable is the guard's static part: the bridge table with its
// counters, sets and chains, at Version. Setting it replaces the table,
// which empties the sets.
type GuardTable struct {
	Version string
}

func (GuardTable) kind() string { return "guard" }

func (g GuardTable) String() string { return "table bridge " + TableName + " " + g.Version }

// A GuardElem is one element of a guard set: the TAP Dev alone, or with
// its MAC or one of its addresses.
type GuardElem struct {
	Set  string
	Dev  string
	MAC  string // GuardSetMAC: the MAC in net.HardwareAddr form
	Addr netip.Addr
}

func (GuardElem) kind() string { return "guard" }

func (e GuardElem) String() string {
	switch {
	case e.MAC != "":
		return e.Set + " " + e.Dev + " . " + e.MAC
	case e.Addr.IsValid():
		return e.Set + " " + e.Dev + " . " + e.Addr.String()
	}
	return e.Set + " " + e.Dev
}

// linkLocal returns the EUI-64 link-local address of mac.
func linkLocal(mac net.HardwareAddr) (netip.Addr, error) {
	return binding.EUI64(mac, netip.MustParsePrefix("fe80::/64"))
}

// guardElems appends the set elements of one binding: what its VM may send
// from its TAP.
func guardElems(s *State, b *binding.Binding) error {
	if len(b.MAC) != 6 {
		return fmt.Errorf("routing: %s: bridge guard: MAC %s is not Ethernet: %w", b.Name, b.MAC, errConfig)
	}
	dev := b.Name
	add := func(e GuardElem) { s.GuardElems = append(s.GuardElems, e) }
	add(GuardElem{Set: GuardSetPorts, Dev: dev})
	if b.MACSpoof {
		add(GuardElem{Set: GuardSetMACSpoof, Dev: dev})
	}
	add(GuardElem{Set: GuardSetMAC, Dev: dev, MAC: b.MAC.String()})
	if b.IP.IsValid() {
		add(GuardElem{Set: GuardSetIPv4, Dev: dev, Addr: b.IP})
	}
	ll, err := linkLocal(b.MAC)
	if err != nil {
		return fmt.Errorf("routing: %s: bridge guard: %w", b.Name, err)
	}
	for _, a := range []netip.Addr{ll, b.EUI64} {
		if a.IsValid() {
			add(GuardElem{Set: GuardSetIPv6, Dev: dev, Addr: a})
			add(GuardElem{Set: GuardSetTarget, Dev: dev, Addr: a})
		}
	}
	return nil
}

// validateGuardElem refuses an element the set cannot hold.
func validateGuardElem(e GuardElem) error {
	if e.Dev == "" || len(e.Dev) > 15 {
		return fmt.Errorf("routing: guard element %s: %q is not an interface name: %w", e, e.Dev, errConfig)
	}
	switch e.Set {
	case GuardSetPorts, GuardSetMACSpoof:
		return nil
	case GuardSetMAC:
		if mac, err := net.ParseMAC(e.MAC); err != nil || len(mac) != 6 {
			return fmt.Errorf("routing: guard element %s: not an Ethernet MAC: %w", e, errConfig)
		}
		return nil
	case GuardSetIPv4:
		if !e.Addr.Is4() {
			return fmt.Errorf("routing: guard element %s: not IPv4: %w", e, errConfig)
		}
		return nil
	case GuardSetIPv6, GuardSetTarget:
		if !e.Addr.Is6() || e.Addr.Is4In6() {
			return fmt.Errorf("routing: guard element %s: not IPv6: %w", e, errConfig)
		}
		return nil
	}
	return fmt.Errorf("routing: guard element %s: unknown set: %w", e, errConfig)
}
