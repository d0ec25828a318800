package routing

import (
	"net/netip"
	"slices"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// perBindingAddresses adds the state of a binding's address keys (issue
// 13): a host route to the TAP for every extra address, announced on the
// uplink (proxy ARP follows the route; IPv6 gets a proxy NDP entry each),
// a route via the VM for every routed and delegated prefix, and the
// PREFIX6 routed whole to the TAP. A binding without them adds nothing.
// The IPv4 routes via the VM are onlink (the TAP has no address): BIRD
// learns a gateway route from the kernel only when the gateway lies in a
// network of the interface, is link-local, or is marked onlink, and
// ignores the others ("strange next-hop"), so they would never be
// announced (announce = bgp). IPv6 see prefixHop6.
// Empty up and up6 leave out the proxy entries and announcements (announce
// = bgp, where a routing daemon exports the routes).
func perBindingAddresses(s *State, b *binding.Binding, table int, tap, up, up6 string, bgp bool) {
	a := &b.Addresses
	if a.IsZero() {
		return
	}
	if len(a.IPs) > 0 || len(a.Routed4) > 0 {
		s.Rules = append(s.Rules, Rule{IIF: tap, Table: table, Priority: BindingRulePriority})
		s.Sysctls = append(s.Sysctls,
			ipv4Sysctl(tap, "proxy_arp", "1"),
			noProxyDelay("ipv4", tap),
			ipv4Sysctl(tap, "forwarding", "1"))
	}
	for _, ip := range a.IPs {
		route := Route{Dst: netip.PrefixFrom(ip, 32), Dev: tap, Table: table}
		s.Routes = append(s.Routes, route)
		if up != "" {
			s.Sysctls = append(s.Sysctls, ipv4Sysctl(up, "proxy_arp", "1"), noProxyDelay("ipv4", up))
			s.Announce = append(s.Announce, Announcement{Addr: ip, Dev: up, Route: route})
		}
	}
	for _, p := range a.Routed4 {
		s.Routes = append(s.Routes, Route{Dst: p, Via: b.IP, Dev: tap, Table: table, OnLink: true})
	}

	v6 := len(a.IPs6) > 0 || len(a.Routed6) > 0 || len(a.Delegated6) > 0 || a.Prefix6.IsValid()
	if !v6 {
		return
	}
	s.Rules = append(s.Rules, Rule{V6: true, IIF: tap, Table: table, Priority: BindingRulePriority})
	// The responder answers the VM's neighbour solicitations itself.
	s.Sysctls = append(s.Sysctls, ipv6Sysctl(tap, "proxy_ndp", "0"))
	for _, ip := range a.IPs6 {
		route := Route{Dst: netip.PrefixFrom(ip, 128), Dev: tap, Table: table}
		s.Routes = append(s.Routes, route)
		if up6 != "" {
			s.Neighs = append(s.Neighs, ProxyNeigh{Addr: ip, Dev: up6})
			s.Sysctls = append(s.Sysctls, ipv6Sysctl(up6, "proxy_ndp", "1"), noProxyDelay("ipv6", up6))
			s.Announce = append(s.Announce, Announcement{Addr: ip, Dev: up6, Route: route})
		}
	}
	if hop := prefixHop6(b, bgp); hop.IsValid() {
		for _, p := range append(slices.Clone(a.Routed6), a.Delegated6...) {
			s.Routes = append(s.Routes, Route{Dst: p, Via: hop, Dev: tap, Table: table})
		}
	}
	if a.Prefix6.IsValid() {
		// On-link on the TAP: the host resolves each address by NDP, and
		// the VM answers for the addresses it formed.
		s.Routes = append(s.Routes, Route{Dst: a.Prefix6, Dev: tap, Table: table})
	}
}

// prefixHop6 returns the next hop of b's ROUTED6 and DELEGATED6 routes:
// the VM's global address (NextHop6), or with announce = bgp its
// link-local address formed from its MAC (modified EUI-64, what a guest
// forms unless told otherwise). BIRD learns a route via a link-local
// gateway; via a global one it needs onlink, which Linux refuses for
// IPv6 when the main table routes the gateway through another device
// (the uplink's route to subnet6, ip6_route_check_nh_onlink).
func prefixHop6(b *binding.Binding, bgp bool) netip.Addr {
	if !bgp {
		return b.NextHop6()
	}
	ll, err := binding.EUI64(b.MAC, linkLocal64)
	if err != nil {
		return netip.Addr{}
	}
	return ll
}

var linkLocal64 = netip.MustParsePrefix("fe80::/64")

// antispoofOf returns the antispoof rules of a binding: one per family,
// matching a single address as before issue 13, or a set of the TAP's
// addresses and prefixes when the binding has more than one source.
func antispoofOf(tap string, b *binding.Binding) []Antispoof {
	out := make([]Antispoof, 0, 2)
	for _, v6 := range []bool{false, true} {
		src := b.Sources4()
		single := b.IP
		if v6 {
			src, single = b.Sources6(), b.EUI64
		}
		if len(src) > 1 || len(src) == 1 && !src[0].IsSingleIP() || len(src) == 1 && src[0].Addr() != single {
			out = append(out, Antispoof{Dev: tap, V6: v6, Sources: src})
			continue
		}
		out = append(out, Antispoof{Dev: tap, V6: v6, Source: single})
	}
	return out
}

// RouterRoutes returns the routes an operator adds on the router of a
// shared uplink (announce = proxy) so that it reaches the prefixes of b
// (ROUTED4, ROUTED6, DELEGATED6, PREFIX6): each via the VM's address,
// which the VM host answers for on the segment wherever the VM runs. dev
// is the router's interface on the segment. The lines are ip(8)
// commands.
func RouterRoutes(b *binding.Binding, dev string) []string {
	var out []string
	add := func(p netip.Prefix, via netip.Addr) {
		if !via.IsValid() {
			return
		}
		family := ""
		if p.Addr().Is6() {
			family = "-6 "
		}
		out = append(out, "ip "+family+"route replace "+p.String()+" via "+via.String()+" dev "+dev)
	}
	for _, p := range b.Routed4 {
		add(p, b.IP)
	}
	for _, p := range append(append(slices.Clone(b.Routed6), b.Delegated6...), prefixes(b.Prefix6)...) {
		add(p, b.NextHop6())
	}
	return out
}

func prefixes(p netip.Prefix) []netip.Prefix {
	if !p.IsValid() {
		return nil
	}
	return []netip.Prefix{p}
}

// guardAddressElems adds the extra addresses of b (IPS, IPS6) to the
// bridge guard's sets. The guard's sets hold single addresses, so routed
// and delegated prefixes and PREFIX6 are not covered in a bridged setup.
func guardAddressElems(add func(GuardElem), b *binding.Binding) {
	for _, a := range b.IPs {
		add(GuardElem{Set: GuardSetIPv4, Dev: b.Name, Addr: a})
	}
	for _, a := range b.IPs6 {
		add(GuardElem{Set: GuardSetIPv6, Dev: b.Name, Addr: a})
		add(GuardElem{Set: GuardSetTarget, Dev: b.Name, Addr: a})
	}
}
