package binding

import (
	"fmt"
	"net/netip"
)

// Claims index the addresses and prefixes of the bindings of a host, so
// that a binding claiming what another one owns is refused (issue 13): the
// routes, proxy entries and anti-spoofing sets of two VMs must never
// overlap. Two bindings sharing IP or EUI64 and nothing else are left
// alone, as before the address keys existed.
//
// A Claims is not safe for concurrent use.
type Claims struct {
	addrs    map[netip.Addr]owned   // /32 and /128 claims
	prefixes map[netip.Prefix]owned // shorter claims
	lengths  [2][129]int            // prefixes by family (0 IPv4) and length
	byName   map[string][]Claim
}

type owned struct {
	name  string
	key   string
	extra bool // claimed by a key of Addresses, not IP or EUI64
}

// NewClaims returns an empty index.
func NewClaims() *Claims {
	return &Claims{addrs: map[netip.Addr]owned{}, prefixes: map[netip.Prefix]owned{}, byName: map[string][]Claim{}}
}

// An OverlapError says that a binding claims what another one owns.
type OverlapError struct {
	Name, Key   string       // the refused binding and its key
	Value       netip.Prefix // what it claims
	Other       string       // the binding that owns it
	OtherKey    string
	OtherPrefix netip.Prefix
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("binding: %s: %s %s: %s (overlaps %s %s of binding %s, which keeps it)",
		e.Name, e.Key, Claim{Prefix: e.Value}.value(), ErrInvalid, e.OtherKey, Claim{Prefix: e.OtherPrefix}.value(), e.Other)
}

func (e *OverlapError) Unwrap() error { return ErrInvalid }

// allClaims lists every claim of b, IP and EUI64 included.
func allClaims(b *Binding) []Claim {
	var out []Claim
	if b.IP.IsValid() {
		out = append(out, Claim{netip.PrefixFrom(b.IP, 32), keyIP})
	}
	if b.EUI64.IsValid() {
		out = append(out, Claim{netip.PrefixFrom(b.EUI64, 128), keyEUI64})
	}
	return append(out, b.Addresses.claims()...)
}

func isExtra(key string) bool { return key != keyIP && key != keyEUI64 }

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// Check returns an *OverlapError when b claims something that a binding of
// another name holds, nil otherwise.
func (c *Claims) Check(b *Binding) error {
	for _, cl := range allClaims(b) {
		if o, p, ok := c.find(cl.Prefix, b.Name, isExtra(cl.Key)); ok {
			return &OverlapError{Name: b.Name, Key: cl.Key, Value: cl.Prefix, Other: o.name, OtherKey: o.key, OtherPrefix: p}
		}
	}
	return nil
}

// find returns a claim of another binding that overlaps p and conflicts
// with it (one side at least from Addresses).
func (c *Claims) find(p netip.Prefix, self string, extra bool) (owned, netip.Prefix, bool) {
	conflicts := func(o owned) bool { return o.name != self && (extra || o.extra) }
	fam := family(p)
	if p.IsSingleIP() {
		if o, ok := c.addrs[p.Addr()]; ok && conflicts(o) {
			return o, p, true
		}
	}
	// Prefixes that contain p or equal it.
	for bits := 1; bits <= p.Bits() && bits < p.Addr().BitLen(); bits++ {
		if c.lengths[fam][bits] == 0 {
			continue
		}
		q := netip.PrefixFrom(p.Addr(), bits).Masked()
		if o, ok := c.prefixes[q]; ok && conflicts(o) {
			return o, q, true
		}
	}
	if p.IsSingleIP() {
		return owned{}, netip.Prefix{}, false
	}
	// Prefixes and addresses inside p: rare (a new prefix), so a walk,
	// reporting the lowest match so that the error is always the same.
	var best owned
	var bestP netip.Prefix
	consider := func(q netip.Prefix, o owned) {
		if !bestP.IsValid() || q.Addr().Less(bestP.Addr()) {
			best, bestP = o, q
		}
	}
	for q, o := range c.prefixes {
		if q.Bits() > p.Bits() && p.Overlaps(q) && conflicts(o) {
			consider(q, o)
		}
	}
	for a, o := range c.addrs {
		if p.Contains(a) && conflicts(o) {
			consider(netip.PrefixFrom(a, a.BitLen()), o)
		}
	}
	return best, bestP, bestP.IsValid()
}

// Set makes b's claims those of its name, replacing earlier ones. A claim
// already held by another binding (classic IP or EUI64 duplicates, which
// Check lets through) keeps its first owner.
func (c *Claims) Set(b *Binding) {
	c.Remove(b.Name)
	cls := allClaims(b)
	c.byName[b.Name] = cls
	for _, cl := range cls {
		o := owned{name: b.Name, key: cl.Key, extra: isExtra(cl.Key)}
		if cl.Prefix.IsSingleIP() {
			if _, taken := c.addrs[cl.Prefix.Addr()]; !taken {
				c.addrs[cl.Prefix.Addr()] = o
			}
			continue
		}
		if _, taken := c.prefixes[cl.Prefix]; !taken {
			c.prefixes[cl.Prefix] = o
			c.lengths[family(cl.Prefix)][cl.Prefix.Bits()]++
		}
	}
}

// Remove drops the claims of the binding called name.
func (c *Claims) Remove(name string) {
	for _, cl := range c.byName[name] {
		if cl.Prefix.IsSingleIP() {
			if o := c.addrs[cl.Prefix.Addr()]; o.name == name {
				delete(c.addrs, cl.Prefix.Addr())
			}
			continue
		}
		if o, ok := c.prefixes[cl.Prefix]; ok && o.name == name {
			delete(c.prefixes, cl.Prefix)
			c.lengths[family(cl.Prefix)][cl.Prefix.Bits()]--
		}
	}
	delete(c.byName, name)
}
