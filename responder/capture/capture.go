package capture

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// chainName is the mangle chain the printed iptables rules live in, so
// that an operator can flush nfdhcpd's rules without touching others.
const chainName = "nfdhcpd"

// A filterMatch is how one queue's packets are recognised, in the syntax
// of each packet filter.
type filterMatch struct {
	ipv6      bool
	iptables  string // match after -p, for iptables/ip6tables
	iptProto  string // the PREROUTING pre-filter that jumps to chainName
	nftables  string
	queueName string // name of the config key, for comments
}

// matchOf returns how packets of kind k are matched.
func matchOf(k responder.Kind) filterMatch {
	switch k {
	case responder.KindDHCPv4:
		return filterMatch{iptables: "-p udp --dport 67", iptProto: "-p udp --dport 67",
			nftables: "meta nfproto ipv4 udp dport 67", queueName: "[dhcp] dhcp_queue"}
	case responder.KindRS:
		return filterMatch{ipv6: true, iptables: "-p ipv6-icmp --icmpv6-type router-solicitation", iptProto: "-p ipv6-icmp",
			nftables: "icmpv6 type nd-router-solicit", queueName: "[ipv6] rs_queue"}
	case responder.KindNS:
		return filterMatch{ipv6: true, iptables: "-p ipv6-icmp --icmpv6-type neighbour-solicitation", iptProto: "-p ipv6-icmp",
			nftables: "icmpv6 type nd-neighbor-solicit", queueName: "[ipv6] ns_queue"}
	default:
		return filterMatch{ipv6: true, iptables: "-p udp --dport 547", iptProto: "-p udp --dport 547",
			nftables: "meta nfproto ipv6 udp dport 547", queueName: "[ipv6] dhcpv6_queue"}
	}
}

// iptablesRules returns the capture rules of the configured queues of one
// family in iptables-restore format, or nil when no queue of that family is
// open. Each TAP pattern gets two rules: one for routed TAPs (the input
// interface) and one for TAPs on a bridge (the physdev match).
func iptablesRules(queues []config.QueueSpec, ipv6 bool, taps []string) []string {
	var jumps, rules []string
	for _, q := range queues {
		m := matchOf(q.Kind)
		if m.ipv6 != ipv6 {
			continue
		}
		jump := fmt.Sprintf("-A PREROUTING %s -j %s", m.iptProto, chainName)
		if !slices.Contains(jumps, jump) {
			jumps = append(jumps, jump)
		}
		target := fmt.Sprintf("-j NFQUEUE --queue-num %d --queue-bypass", q.Num)
		for _, tap := range taps {
			rules = append(rules,
				fmt.Sprintf("-A %s -i %s %s %s", chainName, tap, m.iptables, target),
				fmt.Sprintf("-A %s -m physdev --physdev-in %s %s %s", chainName, tap, m.iptables, target))
		}
	}
	if len(rules) == 0 {
		return nil
	}
	out := []string{"*mangle", fmt.Sprintf(":%s - [0:0]", chainName)}
	out = append(out, jumps...)
	out = append(out, rules...)
	return append(out, "COMMIT")
}

// nftRules returns the capture rules of the configured queues as an nft
// script for routed TAPs: native nftables has no physdev match for bridged
// packets seen by the IP hooks.
func nftRules(queues []config.QueueSpec, taps []string) []string {
	out := []string{
		"table inet nfdhcpd",
		"delete table inet nfdhcpd",
		"table inet nfdhcpd {",
		"\tchain prerouting {",
		"\t\ttype filter hook prerouting priority mangle; policy accept;",
	}
	for _, q := range queues {
		m := matchOf(q.Kind)
		for _, tap := range taps {
			out = append(out, nftRule(m, tap, q.Num))
		}
	}
	return append(out, "\t}", "}")
}

func nftRule(m filterMatch, tap string, queue int) string {
	pattern := strings.TrimSuffix(tap, "+")
	if pattern != tap {
		pattern += "*"
	}
	// The interface reads best after the family selector.
	match := m.nftables
	if rest, ok := strings.CutPrefix(match, "meta nfproto ipv4 "); ok {
		return fmt.Sprintf("\t\tmeta nfproto ipv4 iifname %q %s queue num %d bypass", pattern, rest, queue)
	}
	if rest, ok := strings.CutPrefix(match, "meta nfproto ipv6 "); ok {
		return fmt.Sprintf("\t\tmeta nfproto ipv6 iifname %q %s queue num %d bypass", pattern, rest, queue)
	}
	return fmt.Sprintf("\t\tiifname %q %s queue num %d bypass", pattern, match, queue)
}

// Formats are the values Write takes, "all" first.
func Formats() []string { return []string{"all", "iptables", "ip6tables", "nft"} }

// Write writes the capture rules of queues for the TAP name patterns taps
// (iptables syntax: a trailing + matches any suffix) in format, one of
// Formats; "all" gives every family, each under a comment saying how to
// load it.
func Write(w io.Writer, format string, queues []config.QueueSpec, taps []string) error {
	var sections []struct {
		title string
		lines []string
	}
	add := func(f, title string, lines []string) {
		if lines != nil && (format == "all" || format == f) {
			sections = append(sections, struct {
				title string
				lines []string
			}{title, lines})
		}
	}
	add("iptables", "IPv4: load with iptables-restore --noflush", iptablesRules(queues, false, taps))
	add("ip6tables", "IPv6: load with ip6tables-restore --noflush", iptablesRules(queues, true, taps))
	add("nft", "nftables, routed TAPs only; needs the kernel's nft queue support (CONFIG_NFT_QUEUE): load with nft -f", nftRules(queues, taps))
	var b strings.Builder
	for i, s := range sections {
		if format == "all" {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "# %s\n", s.title)
		}
		for _, l := range s.lines {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
