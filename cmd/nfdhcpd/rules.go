package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// captureChain is the mangle chain the printed iptables rules live in, so
// that an operator can flush nfdhcpd's rules without touching others.
const captureChain = "nfdhcpd"

// A captureMatch is how one queue's packets are recognised, in the syntax
// of each packet filter.
type captureMatch struct {
	ipv6      bool
	iptables  string // match after -p, for iptables/ip6tables
	iptProto  string // the PREROUTING pre-filter that jumps to captureChain
	nftables  string
	queueName string // name of the config key, for comments
}

// captureMatchOf returns how packets of kind k are matched.
func captureMatchOf(k responder.Kind) captureMatch {
	switch k {
	case responder.KindDHCPv4:
		return captureMatch{iptables: "-p udp --dport 67", iptProto: "-p udp --dport 67",
			nftables: "meta nfproto ipv4 udp dport 67", queueName: "[dhcp] dhcp_queue"}
	case responder.KindRS:
		return captureMatch{ipv6: true, iptables: "-p ipv6-icmp --icmpv6-type router-solicitation", iptProto: "-p ipv6-icmp",
			nftables: "icmpv6 type nd-router-solicit", queueName: "[ipv6] rs_queue"}
	case responder.KindNS:
		return captureMatch{ipv6: true, iptables: "-p ipv6-icmp --icmpv6-type neighbour-solicitation", iptProto: "-p ipv6-icmp",
			nftables: "icmpv6 type nd-neighbor-solicit", queueName: "[ipv6] ns_queue"}
	default:
		return captureMatch{ipv6: true, iptables: "-p udp --dport 547", iptProto: "-p udp --dport 547",
			nftables: "meta nfproto ipv6 udp dport 547", queueName: "[ipv6] dhcpv6_queue"}
	}
}

// iptablesRules returns the capture rules of the configured queues of one
// family in iptables-restore format, or nil when no queue of that family is
// open. Each TAP pattern gets two rules: one for routed TAPs (the input
// interface) and one for TAPs on a bridge (the physdev match).
func iptablesRules(queues []QueueSpec, ipv6 bool, taps []string) []string {
	var jumps, rules []string
	for _, q := range queues {
		m := captureMatchOf(q.Kind)
		if m.ipv6 != ipv6 {
			continue
		}
		jump := fmt.Sprintf("-A PREROUTING %s -j %s", m.iptProto, captureChain)
		if !contains(jumps, jump) {
			jumps = append(jumps, jump)
		}
		target := fmt.Sprintf("-j NFQUEUE --queue-num %d --queue-bypass", q.Num)
		for _, tap := range taps {
			rules = append(rules,
				fmt.Sprintf("-A %s -i %s %s %s", captureChain, tap, m.iptables, target),
				fmt.Sprintf("-A %s -m physdev --physdev-in %s %s %s", captureChain, tap, m.iptables, target))
		}
	}
	if len(rules) == 0 {
		return nil
	}
	out := []string{"*mangle", fmt.Sprintf(":%s - [0:0]", captureChain)}
	out = append(out, jumps...)
	out = append(out, rules...)
	return append(out, "COMMIT")
}

// nftRules returns the capture rules of the configured queues as an nft
// script for routed TAPs: native nftables has no physdev match for bridged
// packets seen by the IP hooks.
func nftRules(queues []QueueSpec, taps []string) []string {
	out := []string{
		"table inet nfdhcpd",
		"delete table inet nfdhcpd",
		"table inet nfdhcpd {",
		"\tchain prerouting {",
		"\t\ttype filter hook prerouting priority mangle; policy accept;",
	}
	for _, q := range queues {
		m := captureMatchOf(q.Kind)
		for _, tap := range taps {
			out = append(out, nftRule(m, tap, q.Num))
		}
	}
	return append(out, "\t}", "}")
}

func nftRule(m captureMatch, tap string, queue int) string {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rulesFormats are the values of `nfdhcpd rules -format`.
var rulesFormats = []string{"all", "iptables", "ip6tables", "nft", "nft-bridge"}

// runRules implements `nfdhcpd rules [-c FILE] [-format F] [-taps P,...]`:
// it prints the packet filter rules that feed the configured queues.
func runRules(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("c", DefaultConfigPath, "configuration `file`")
	format := fs.String("format", "all", "what to print: "+strings.Join(rulesFormats, ", "))
	tapList := fs.String("taps", "tap+", "comma-separated TAP name `patterns` in iptables syntax (a trailing + matches any suffix), e.g. tap+,vnet+")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd rules [-c FILE] [-format all|iptables|ip6tables|nft|nft-bridge] [-taps tap+,...]\n\n"+
			"Prints the iptables/ip6tables (iptables-restore format) and nft capture rules\n"+
			"that send the VMs' requests to the queues of the configuration; with\n"+
			"-format nft-bridge, the static part of the bridge guard instead.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("rules: %w: %w", err, errUsage)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("rules: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	if !contains(rulesFormats, *format) {
		return fmt.Errorf("rules: -format %q is not one of %s: %w", *format, strings.Join(rulesFormats, ", "), errUsage)
	}
	if *format == "nft-bridge" {
		// The guard's rules do not depend on the configuration.
		_, err := io.WriteString(stdout, bridgeGuardScript())
		return err
	}
	taps, err := tapPatterns(*tapList)
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(*configPath, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	queues := cfg.Queues()
	if len(queues) == 0 {
		return errors.New("rules: the configuration opens no queue")
	}
	return writeRules(stdout, *format, queues, taps)
}

func writeRules(w io.Writer, format string, queues []QueueSpec, taps []string) error {
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

// tapPatterns splits and checks the -taps list: each pattern must be an
// interface name, optionally ending in '+'.
func tapPatterns(list string) ([]string, error) {
	var taps []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		name := strings.TrimSuffix(p, "+")
		if name == "" || len(name) > 15 || strings.ContainsAny(name, " \t/:\"'+*") {
			return nil, fmt.Errorf("rules: -taps: %q is not an interface name pattern: %w", p, errUsage)
		}
		taps = append(taps, p)
	}
	return taps, nil
}

// bridgeGuardScript is the static part of the bridge guard as an nft
// script, for operators who manage their own firewall: the daemon with
// [routing] bridge_guard = yes installs the same table and fills its sets.
func bridgeGuardScript() string {
	return `# The bridge guard of nfdhcpd ([routing] bridge_guard = yes installs it itself).
# Load with nft -f; then, per VM on TAP "tap1" with MAC 52:54:00:12:34:56,
# IPv4 192.0.2.10 and IPv6 2001:db8::5054:ff:fe12:3456 (and link-local):
#   add element bridge nfdhcpd ports { "tap1" }
#   add element bridge nfdhcpd port_mac { "tap1" . 52:54:00:12:34:56 }
#   add element bridge nfdhcpd port_ipv4 { "tap1" . 192.0.2.10 }
#   add element bridge nfdhcpd port_ipv6 { "tap1" . fe80::5054:ff:fe12:3456, "tap1" . 2001:db8::5054:ff:fe12:3456 }
#   add element bridge nfdhcpd port_target { "tap1" . 0xfe80000000000000505400fffe123456, "tap1" . 0x20010db800000000505400fffe123456 }
# (port_target holds the same addresses as 128-bit numbers: nft types the
# neighbour advertisement's target field as one), and "tap1" in macspoof
# when the binding has MACSPOOF.
` + routing.GuardScript()
}
