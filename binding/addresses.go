package binding

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Addresses are what a VM NIC owns beyond IP and EUI64 (issue 13): extra
// addresses the guest configures itself, prefixes routed through it, a
// prefix delegated to it by DHCPv6 and a prefix of its own. None of them
// is handed out by DHCPv4 or as an IA_NA; the routing module routes,
// proxies, announces and allows them as sources.
type Addresses struct {
	IPs        []netip.Addr   // IPS: extra IPv4 addresses
	IPs6       []netip.Addr   // IPS6: extra IPv6 addresses
	Routed4    []netip.Prefix // ROUTED4: IPv4 prefixes routed via IP
	Routed6    []netip.Prefix // ROUTED6: IPv6 prefixes routed via the VM's IPv6 address
	Delegated6 []netip.Prefix // DELEGATED6: handed out as IA_PD and routed like ROUTED6
	// Prefix6 (PREFIX6) is a /64 or shorter of this VM alone: advertised
	// with A=1 on its TAP, routed whole to the TAP.
	Prefix6 netip.Prefix
}

// The keys of the Addresses, in the order they are validated and written,
// after the keys of fields.go.
const (
	keyIPs        = "IPS"
	keyIPs6       = "IPS6"
	keyRouted4    = "ROUTED4"
	keyRouted6    = "ROUTED6"
	keyDelegated6 = "DELEGATED6"
	keyPrefix6    = "PREFIX6"
	numAddrKeys   = 6
)

func addressKeyArray() [numAddrKeys]string {
	return [numAddrKeys]string{keyIPs, keyIPs6, keyRouted4, keyRouted6, keyDelegated6, keyPrefix6}
}

// addressKeyIndex returns the position of key in addressKeyArray, or -1.
func addressKeyIndex(key string) int {
	switch key {
	case keyIPs:
		return 0
	case keyIPs6:
		return 1
	case keyRouted4:
		return 2
	case keyRouted6:
		return 3
	case keyDelegated6:
		return 4
	case keyPrefix6:
		return 5
	}
	return -1
}

// AddressKeys returns the binding keys of Addresses, for usage texts.
func AddressKeys() []string {
	keys := addressKeyArray()
	return keys[:]
}

// IsZero reports whether no address key is set: the binding behaves as
// before issue 13.
func (a *Addresses) IsZero() bool {
	return len(a.IPs) == 0 && len(a.IPs6) == 0 && len(a.Routed4) == 0 && len(a.Routed6) == 0 &&
		len(a.Delegated6) == 0 && !a.Prefix6.IsValid()
}

// Equal reports whether a and b hold the same values in the same order.
func (a *Addresses) Equal(b *Addresses) bool {
	return slices.Equal(a.IPs, b.IPs) && slices.Equal(a.IPs6, b.IPs6) && slices.Equal(a.Routed4, b.Routed4) &&
		slices.Equal(a.Routed6, b.Routed6) && slices.Equal(a.Delegated6, b.Delegated6) && a.Prefix6 == b.Prefix6
}

// NextHop6 returns the VM's IPv6 address that ROUTED6 and DELEGATED6 are
// routed via: EUI64, else the first of IPS6; invalid when there is none.
func (b *Binding) NextHop6() netip.Addr {
	if b.EUI64.IsValid() {
		return b.EUI64
	}
	if len(b.IPs6) > 0 {
		return b.IPs6[0]
	}
	return netip.Addr{}
}

// values adds the keys of a to v, as Values does for the others.
func (a *Addresses) values(put func(key, value string)) {
	put(keyIPs, joinAddrs(a.IPs))
	put(keyIPs6, joinAddrs(a.IPs6))
	put(keyRouted4, joinPrefixes(a.Routed4))
	put(keyRouted6, joinPrefixes(a.Routed6))
	put(keyDelegated6, joinPrefixes(a.Delegated6))
	put(keyPrefix6, prefixString(a.Prefix6))
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// listItems splits a list value on commas and blanks: "a, b" and "a b"
// both give two items.
func listItems(value string) []string {
	return strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// setAddress records an address key's value for validation by addresses.
func (f *fileValues) setAddress(i int, lineNo int, value string) {
	if value == "" {
		f.addrValues[i] = located{}
		return
	}
	f.addrValues[i] = located{value: value, line: lineNo}
}

// addresses validates the address keys of the file into b.Addresses, once
// the other keys are in b (the checks need IP, EUI64, SUBNET, SUBNET6).
func (f *fileValues) addresses(b *Binding) error {
	keys := addressKeyArray()
	for i, key := range keys {
		v := f.addrValues[i]
		if v.line == 0 {
			continue
		}
		if reason := setAddressField(b, key, v.value); reason != "" {
			return f.invalid(key, v, reason)
		}
	}
	// Every item against the binding's own other claims: nothing may be
	// claimed twice, and routed prefixes must not cover the shared subnets.
	seen := []Claim{}
	if b.IP.IsValid() {
		seen = append(seen, Claim{Prefix: netip.PrefixFrom(b.IP, 32), Key: keyIP})
	}
	if b.EUI64.IsValid() {
		seen = append(seen, Claim{Prefix: netip.PrefixFrom(b.EUI64, 128), Key: keyEUI64})
	}
	for _, c := range b.Addresses.claims() {
		v := f.addrValues[addressKeyIndex(c.Key)]
		for _, s := range seen {
			if s.Prefix.Overlaps(c.Prefix) {
				return f.invalid(c.Key, v, fmt.Sprintf("%s overlaps %s %s of the same binding", c.value(), s.Key, s.value()))
			}
		}
		seen = append(seen, c)
		if c.Key == keyIPs || c.Key == keyIPs6 {
			continue // extra addresses may lie in the shared subnet
		}
		if b.Subnet.IsValid() && b.Subnet.Overlaps(c.Prefix) {
			return f.invalid(c.Key, v, fmt.Sprintf("%s overlaps SUBNET %s, which is on-link", c.value(), b.Subnet))
		}
		if b.Subnet6.IsValid() && b.Subnet6.Overlaps(c.Prefix) {
			return f.invalid(c.Key, v, fmt.Sprintf("%s overlaps SUBNET6 %s, which is on-link", c.value(), b.Subnet6))
		}
	}
	if v := f.addrValues[addressKeyIndex(keyRouted4)]; v.line != 0 && !b.IP.IsValid() {
		return f.invalid(keyRouted4, v, "needs IP, the next hop of the routes")
	}
	for _, key := range []string{keyRouted6, keyDelegated6} {
		if v := f.addrValues[addressKeyIndex(key)]; v.line != 0 && !b.NextHop6().IsValid() {
			return f.invalid(key, v, "needs EUI64 (or SUBNET6) or IPS6, the next hop of the routes")
		}
	}
	if v := f.addrValues[addressKeyIndex(keyPrefix6)]; v.line != 0 {
		if mtu, given := f.get(keyMTU); given && b.MTU < minMTU6 {
			return f.invalid(keyMTU, mtu, fmt.Sprintf("want %d..%d", minMTU6, maxMTU))
		}
	}
	return nil
}

// setAddressField parses and stores one address key; it returns why the
// value is refused, or "".
func setAddressField(b *Binding, key, value string) string {
	items := listItems(value)
	if len(items) == 0 {
		return "want at least one item"
	}
	a := &b.Addresses
	switch key {
	case keyIPs, keyIPs6:
		var out []netip.Addr
		for _, item := range items {
			var addr netip.Addr
			var reason string
			if key == keyIPs {
				reason = setAddr4(&addr, item, true)
			} else if reason = setAddr6(&addr, item); reason == "" && !usable6(addr) {
				reason = "not usable as a global host address"
			}
			if reason != "" {
				return fmt.Sprintf("%q: %s", item, reason)
			}
			out = append(out, addr)
		}
		if key == keyIPs {
			a.IPs = out
		} else {
			a.IPs6 = out
		}
	case keyRouted4, keyRouted6, keyDelegated6, keyPrefix6:
		v6 := key != keyRouted4
		maxBits := 128
		if !v6 {
			maxBits = 32
		}
		if key == keyPrefix6 {
			if len(items) > 1 {
				return "want one prefix"
			}
			maxBits = 64
		}
		var out []netip.Prefix
		for _, item := range items {
			p, err := netip.ParsePrefix(item)
			switch {
			case err != nil || p.Addr().Is6() != v6 || p.Addr().Is4In6() || p.Addr().Zone() != "":
				if v6 {
					return fmt.Sprintf("%q: want an IPv6 prefix such as 2001:db8:100::/56", item)
				}
				return fmt.Sprintf("%q: want an IPv4 prefix such as 198.51.100.16/28", item)
			case p.Bits() == 0 || p.Bits() > maxBits:
				return fmt.Sprintf("%q: want a prefix length 1..%d", item, maxBits)
			case p.Masked() != p:
				return fmt.Sprintf("%q: host bits set, want %s", item, p.Masked())
			case v6 && !usable6(p.Addr()):
				return fmt.Sprintf("%q: not a global unicast prefix", item)
			}
			out = append(out, p)
		}
		switch key {
		case keyRouted4:
			a.Routed4 = out
		case keyRouted6:
			a.Routed6 = out
		case keyDelegated6:
			a.Delegated6 = out
		case keyPrefix6:
			a.Prefix6 = out[0]
		}
	}
	return ""
}

// usable6 reports whether a can be a VM's routed IPv6 address.
func usable6(a netip.Addr) bool {
	return !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast()
}

// A Claim is an address (a /32 or /128) or a prefix that a binding owns,
// with the key that claims it.
type Claim struct {
	Prefix netip.Prefix
	Key    string
}

func (c Claim) value() string {
	if c.Prefix.IsSingleIP() {
		return c.Prefix.Addr().String()
	}
	return c.Prefix.String()
}

// claims lists the Addresses as Claims, in key order.
func (a *Addresses) claims() []Claim {
	var out []Claim
	for _, ip := range a.IPs {
		out = append(out, Claim{netip.PrefixFrom(ip, 32), keyIPs})
	}
	for _, ip := range a.IPs6 {
		out = append(out, Claim{netip.PrefixFrom(ip, 128), keyIPs6})
	}
	for _, p := range a.Routed4 {
		out = append(out, Claim{p, keyRouted4})
	}
	for _, p := range a.Routed6 {
		out = append(out, Claim{p, keyRouted6})
	}
	for _, p := range a.Delegated6 {
		out = append(out, Claim{p, keyDelegated6})
	}
	if a.Prefix6.IsValid() {
		out = append(out, Claim{a.Prefix6, keyPrefix6})
	}
	return out
}

// Sources4 and Sources6 return what the VM may send from: its address and
// every address and prefix of Addresses, in one family.
func (b *Binding) Sources4() []netip.Prefix { return b.sources(b.IP, 32, netip.Addr.Is4) }

// Sources6 is Sources4 for IPv6.
func (b *Binding) Sources6() []netip.Prefix { return b.sources(b.EUI64, 128, netip.Addr.Is6) }

// sources is own as a host prefix of bits, if it is valid, then the
// claims of Addresses whose address is of the family inFamily tells.
func (b *Binding) sources(own netip.Addr, bits int, inFamily func(netip.Addr) bool) []netip.Prefix {
	var out []netip.Prefix
	if own.IsValid() {
		out = append(out, netip.PrefixFrom(own, bits))
	}
	for _, c := range b.Addresses.claims() {
		if inFamily(c.Prefix.Addr()) {
			out = append(out, c.Prefix)
		}
	}
	return out
}
