package capture

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/config"
)

// ruleLines returns the lines of a rules file that are not comments or
// blank, trimmed, so that the shipped files can carry explanations.
func ruleLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestRulesMatchContrib checks that the files shipped in contrib/ are what
// `nfdhcpd rules` prints for the default configuration, so the two cannot
// drift apart.
func TestRulesMatchContrib(t *testing.T) {
	cfg, err := config.Parse(nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format, file string
	}{
		{"iptables", "iptables/rules.v4"},
		{"ip6tables", "iptables/rules.v6"},
		{"nft", "nftables/nfdhcpd.nft"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			shipped, err := os.ReadFile(filepath.Join("..", "..", "contrib", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Write(&got, tt.format, cfg.Queues(), []string{"tap+"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ruleLines(string(shipped)), ruleLines(got.String())); diff != "" {
				t.Errorf("contrib/%s differs from `nfdhcpd rules -format %s` (-want +got):\n%s", tt.file, tt.format, diff)
			}
		})
	}
}

func TestRulesQueuesAndTaps(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		format string
		taps   []string
		want   []string
	}{
		{
			name:   "DHCPv4 only, two patterns",
			conf:   "[dhcp]\ndhcp_queue = 7\n[ipv6]\nenable_ipv6 = no\n",
			format: "all",
			taps:   []string{"tap+", "vnet+"},
			want: []string{
				"*mangle",
				":nfdhcpd - [0:0]",
				"-A PREROUTING -p udp --dport 67 -j nfdhcpd",
				"-A nfdhcpd -i tap+ -p udp --dport 67 -j NFQUEUE --queue-num 7 --queue-bypass",
				"-A nfdhcpd -m physdev --physdev-in tap+ -p udp --dport 67 -j NFQUEUE --queue-num 7 --queue-bypass",
				"-A nfdhcpd -i vnet+ -p udp --dport 67 -j NFQUEUE --queue-num 7 --queue-bypass",
				"-A nfdhcpd -m physdev --physdev-in vnet+ -p udp --dport 67 -j NFQUEUE --queue-num 7 --queue-bypass",
				"COMMIT",
				"table inet nfdhcpd",
				"delete table inet nfdhcpd",
				"table inet nfdhcpd {",
				"chain prerouting {",
				"type filter hook prerouting priority mangle; policy accept;",
				`meta nfproto ipv4 iifname "tap*" udp dport 67 queue num 7 bypass`,
				`meta nfproto ipv4 iifname "vnet*" udp dport 67 queue num 7 bypass`,
				"}",
				"}",
			},
		},
		{
			name:   "an empty dhcpv6_queue leaves the DHCPv6 queue out",
			conf:   "[dhcp]\nenable_dhcp = no\n[ipv6]\nmode = slaac\nns_queue =\ndhcpv6_queue =\n",
			format: "ip6tables",
			taps:   []string{"vm0"},
			want: []string{
				"*mangle",
				":nfdhcpd - [0:0]",
				"-A PREROUTING -p ipv6-icmp -j nfdhcpd",
				"-A nfdhcpd -i vm0 -p ipv6-icmp --icmpv6-type router-solicitation -j NFQUEUE --queue-num 43 --queue-bypass",
				"-A nfdhcpd -m physdev --physdev-in vm0 -p ipv6-icmp --icmpv6-type router-solicitation -j NFQUEUE --queue-num 43 --queue-bypass",
				"COMMIT",
			},
		},
		{
			name:   "no IPv4 queue prints no IPv4 table",
			conf:   "[dhcp]\nenable_dhcp = no\n",
			format: "iptables",
			taps:   []string{"tap+"},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.conf), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Write(&got, tt.format, cfg.Queues(), tt.taps); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ruleLines(got.String())); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
}
