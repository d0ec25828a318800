package routing

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// nfARPOut is NF_ARP_OUT (linux/netfilter_arp.h): the arp family numbers
// its hooks apart from inet's.
const nfARPOut = 1

// nftFilterRules queues, on c, the replacement of the daemon's two
// nftables tables by the content of f. Adding then deleting each table
// first makes the deletion succeed whether it existed or not; the caller's
// Flush sends everything as one transaction, so packets see either the
// old tables or the new ones, never none.
func nftFilterRules(c *nftables.Conn, f *Filter) {
	inet := &nftables.Table{Family: nftables.TableFamilyINet, Name: TableName}
	arp := &nftables.Table{Family: nftables.TableFamilyARP, Name: TableName}
	for _, t := range []*nftables.Table{inet, arp} {
		c.AddTable(t)
		c.DelTable(t)
	}
	accept := nftables.ChainPolicyAccept
	if len(f.ARPSenders) > 0 {
		c.AddTable(arp)
		out := c.AddChain(&nftables.Chain{
			Name: "output", Table: arp, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookRef(nfARPOut), Priority: nftables.ChainPriorityFilter, Policy: &accept,
		})
		for _, a := range f.ARPSenders {
			c.AddRule(&nftables.Rule{Table: arp, Chain: out, Exprs: arpSenderExprs(a)})
		}
	}
	if len(f.Antispoof) == 0 && len(f.Masquerade) == 0 {
		return
	}
	c.AddTable(inet)
	if len(f.Antispoof) > 0 {
		fwd := c.AddChain(&nftables.Chain{
			Name: "forward", Table: inet, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
		})
		for _, a := range f.Antispoof {
			if len(a.Sources) > 0 {
				set := addSourceSet(c, inet, a)
				c.AddRule(&nftables.Rule{Table: inet, Chain: fwd, Exprs: antispoofSetExprs(a, set)})
				continue
			}
			c.AddRule(&nftables.Rule{Table: inet, Chain: fwd, Exprs: antispoofExprs(a)})
		}
	}
	if len(f.Masquerade) > 0 {
		post := c.AddChain(&nftables.Chain{
			Name: "postrouting", Table: inet, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept,
		})
		for _, m := range f.Masquerade {
			c.AddRule(&nftables.Rule{Table: inet, Chain: post, Exprs: masqueradeExprs(m)})
		}
	}
}

// ifname returns name as the kernel compares interface names: NUL-padded
// to IFNAMSIZ, so that "tap1" does not also match "tap10".
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func matchIfname(key expr.MetaKey, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(name)},
	}
}

func matchNFProto(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// arpSenderExprs is `oifname DEV arp htype 1 arp ptype ip arp hlen 6
// arp plen 4 arp operation request arp saddr ip set SENDER`.
func arpSenderExprs(a ARPSender) []expr.Any {
	sender := a.Sender.As4()
	exprs := matchIfname(expr.MetaKeyOIFNAME, a.Dev)
	return append(exprs,
		// htype Ethernet, ptype IPv4, hlen 6, plen 4: the layout the
		// sender address offset below assumes.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 6},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 1, 0x08, 0x00, 6, 4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 6, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 1}},
		&expr.Immediate{Register: 1, Data: sender[:]},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 14, Len: 4},
	)
}

// antispoofExprs is `iifname DEV meta nfproto ipv4 ip saddr != SOURCE drop`
// (or ip6), or without the address match when the VM has none.
func antispoofExprs(a Antispoof) []expr.Any {
	exprs := matchIfname(expr.MetaKeyIIFNAME, a.Dev)
	offset, length := uint32(12), uint32(4) // IPv4 source address
	proto := byte(unix.NFPROTO_IPV4)
	if a.V6 {
		offset, length = 8, 16
		proto = unix.NFPROTO_IPV6
	}
	exprs = append(exprs, matchNFProto(proto)...)
	if a.Source.IsValid() {
		exprs = append(exprs,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: length},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: a.Source.AsSlice()},
		)
	}
	return append(exprs, &expr.Verdict{Kind: expr.VerdictDrop})
}

// addSourceSet queues the interval set of a's sources: `set src4_DEV {
// type ipv4_addr; flags interval; elements = { … } }` (or ipv6_addr).
func addSourceSet(c *nftables.Conn, t *nftables.Table, a Antispoof) *nftables.Set {
	set := &nftables.Set{Table: t, Name: a.setName(), KeyType: nftables.TypeIPAddr, Interval: true}
	if a.V6 {
		set.KeyType = nftables.TypeIP6Addr
	}
	var elems []nftables.SetElement
	for _, r := range mergedRanges(a.Sources) {
		elems = append(elems, nftables.SetElement{Key: r.from.AsSlice()})
		if r.to.IsValid() {
			elems = append(elems, nftables.SetElement{Key: r.to.AsSlice(), IntervalEnd: true})
		}
	}
	// AddSet fails only for a set without a table or name.
	_ = c.AddSet(set, elems)
	return set
}

// An addrRange is [from, to); an invalid to means up to the end of the
// address space.
type addrRange struct{ from, to netip.Addr }

// mergedRanges turns prefixes into sorted ranges, merging those that
// overlap or touch: the kernel refuses overlapping interval elements.
func mergedRanges(ps []netip.Prefix) []addrRange {
	rs := make([]addrRange, 0, len(ps))
	for _, p := range ps {
		rs = append(rs, addrRange{from: p.Masked().Addr(), to: lastAddr(p).Next()})
	}
	slices.SortFunc(rs, func(a, b addrRange) int { return a.from.Compare(b.from) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (!out[n-1].to.IsValid() || out[n-1].to.Compare(r.from) >= 0) {
			if out[n-1].to.IsValid() && (!r.to.IsValid() || r.to.Compare(out[n-1].to) > 0) {
				out[n-1].to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// antispoofSetExprs is `iifname DEV meta nfproto ipv4 ip saddr != @SET
// drop` (or ip6).
func antispoofSetExprs(a Antispoof, set *nftables.Set) []expr.Any {
	exprs := matchIfname(expr.MetaKeyIIFNAME, a.Dev)
	offset, length := uint32(12), uint32(4)
	proto := byte(unix.NFPROTO_IPV4)
	if a.V6 {
		offset, length = 8, 16
		proto = unix.NFPROTO_IPV6
	}
	exprs = append(exprs, matchNFProto(proto)...)
	return append(exprs,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: length},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID, Invert: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	)
}

// masqueradeExprs is `meta nfproto ipv4 ip saddr SUBNET oifname DEV masquerade`.
func masqueradeExprs(m Masquerade) []expr.Any {
	exprs := matchNFProto(unix.NFPROTO_IPV4)
	exprs = append(exprs,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: prefixMask(m.Source), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: m.Source.Masked().Addr().AsSlice()},
	)
	exprs = append(exprs, matchIfname(expr.MetaKeyOIFNAME, m.Dev)...)
	return append(exprs, &expr.Masq{})
}

func prefixMask(p netip.Prefix) []byte {
	mask := make([]byte, p.Addr().BitLen()/8)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return mask
}

// validateFilter refuses a filter the expressions above cannot express.
func validateFilter(f *Filter) error {
	for _, a := range f.ARPSenders {
		if !a.Sender.Is4() {
			return fmt.Errorf("routing: ARP sender %s for %s is not IPv4: %w", a.Sender, a.Dev, errConfig)
		}
	}
	for _, a := range f.Antispoof {
		if a.Source.IsValid() && a.Source.Is6() != a.V6 {
			return fmt.Errorf("routing: antispoof source %s for %s has the wrong family: %w", a.Source, a.Dev, errConfig)
		}
		for _, p := range a.Sources {
			if !p.IsValid() || p.Addr().Is6() != a.V6 {
				return fmt.Errorf("routing: antispoof source %s for %s has the wrong family: %w", p, a.Dev, errConfig)
			}
		}
	}
	for _, m := range f.Masquerade {
		if !m.Source.Addr().Is4() {
			return fmt.Errorf("routing: masquerade source %s is not IPv4: %w", m.Source, errConfig)
		}
	}
	return nil
}
