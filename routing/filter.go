package routing

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// A Filter is the content of the daemon's nftables tables. It is replaced
// as a whole, in one transaction, whenever it changes.
type Filter struct {
	ARPSenders []ARPSender
	Antispoof  []Antispoof
	Masquerade []Masquerade
}

// An ARPSender rewrites the sender protocol address of the ARP requests
// the host sends out of Dev, so that a VM sees only its gateway on the TAP
// and the router sees the dummy ARP_IP on the uplink.
type ARPSender struct {
	Dev    string
	Sender netip.Addr
}

func (a ARPSender) String() string {
	return fmt.Sprintf("arp output oifname %s request sender %s", a.Dev, a.Sender)
}

// An Antispoof drops the packets forwarded from Dev in one address family
// whose source is not Source. An invalid Source drops every forwarded
// packet of that family (the VM has no address in it). When Sources is
// set, it replaces Source: the allowed addresses and prefixes go into an
// nftables set of the TAP, matched by one rule.
type Antispoof struct {
	Dev     string
	V6      bool
	Source  netip.Addr
	Sources []netip.Prefix
}

func (a Antispoof) String() string {
	family := "ip"
	if a.V6 {
		family = "ip6"
	}
	if len(a.Sources) > 0 {
		elems := make([]string, len(a.Sources))
		for i, p := range a.Sources {
			elems[i] = p.String()
			if p.IsSingleIP() {
				elems[i] = p.Addr().String()
			}
		}
		return fmt.Sprintf("forward iifname %s %s saddr != @%s { %s } drop", a.Dev, family, a.setName(), strings.Join(elems, ", "))
	}
	if !a.Source.IsValid() {
		return fmt.Sprintf("forward iifname %s %s drop", a.Dev, family)
	}
	return fmt.Sprintf("forward iifname %s %s saddr != %s drop", a.Dev, family, a.Source)
}

// A Masquerade source-NATs packets from Source leaving through Dev.
type Masquerade struct {
	Source netip.Prefix
	Dev    string
}

func (m Masquerade) String() string {
	return fmt.Sprintf("postrouting ip saddr %s oifname %s masquerade", m.Source, m.Dev)
}

func (*Filter) kind() string { return "nft" }

// String returns the filter's lines joined by "; ".
func (f *Filter) String() string { return strings.Join(f.body(), "; ") }

// Lines returns one "nft …" line per rule of the filter.
func (f *Filter) Lines() []string {
	body := f.body()
	for i := range body {
		body[i] = "nft " + body[i]
	}
	return body
}

func (f *Filter) body() []string {
	var lines []string
	for _, a := range f.ARPSenders {
		lines = append(lines, a.String())
	}
	for _, a := range f.Antispoof {
		lines = append(lines, a.String())
	}
	for _, m := range f.Masquerade {
		lines = append(lines, m.String())
	}
	return lines
}

// Equal reports whether f and g install the same rules; nil is unknown
// and equals nothing.
func (f *Filter) Equal(g *Filter) bool {
	if f == nil || g == nil {
		return false
	}
	return slices.Equal(f.body(), g.body())
}

func (f *Filter) normalize() {
	byString := func(a, b fmt.Stringer) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(f.ARPSenders, func(a, b ARPSender) int { return byString(a, b) })
	f.ARPSenders = slices.Compact(f.ARPSenders)
	slices.SortFunc(f.Antispoof, func(a, b Antispoof) int { return byString(a, b) })
	f.Antispoof = slices.CompactFunc(f.Antispoof, func(a, b Antispoof) bool { return a.String() == b.String() })
	slices.SortFunc(f.Masquerade, func(a, b Masquerade) int { return byString(a, b) })
	f.Masquerade = slices.Compact(f.Masquerade)
}

// setName names the nftables set of an Antispoof with Sources: one per TAP
// and family.
func (a Antispoof) setName() string {
	if a.V6 {
		return "src6_" + a.Dev
	}
	return "src4_" + a.Dev
}
