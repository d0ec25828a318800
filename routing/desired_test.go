package routing_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

func TestDesiredVMCPerBinding(t *testing.T) {
	cfg := vmcConfig()
	v6only := vm("tap2", 12, "52:54:00:00:00:02", "", true)
	v6only.Table = "other"
	v6only.Uplink6 = "eth2"
	got, err := routing.Desired(cfg, []*binding.Active{
		vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true),
		v6only,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"route 0.0.0.0/0 via 192.0.2.1 dev eth1 table 500",
		"route 192.0.2.0/24 dev eth1 table 254",
		"route 192.0.2.0/24 dev eth1 table 500",
		"route 192.0.2.10/32 dev tap1 table 500",
		"route 2001:db8:1:0:5054:ff:fe00:1/128 dev tap1 table 500",
		"route 2001:db8:1:0:5054:ff:fe00:2/128 dev tap2 table 600",
		"route 2001:db8:1::/64 dev eth1 table 254",
		"route 2001:db8:1::/64 dev eth1 table 500",
		"route ::/0 via 2001:db8:1::1 dev eth1 table 500",
		"neigh proxy 2001:db8:1:0:5054:ff:fe00:1 dev eth1",
		"neigh proxy 2001:db8:1:0:5054:ff:fe00:2 dev eth2",
		"rule -6 iif eth1 lookup 500 pref 20100",
		"rule -6 iif tap1 lookup 500 pref 20200",
		"rule -6 iif tap2 lookup 600 pref 20200",
		"rule iif eth1 lookup 500 pref 20100",
		"rule iif tap1 lookup 500 pref 20200",
		"sysctl net/ipv4/conf/eth1/forwarding 1",
		"sysctl net/ipv4/conf/eth1/proxy_arp 1",
		"sysctl net/ipv4/conf/tap1/forwarding 1",
		"sysctl net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl net/ipv4/neigh/eth1/proxy_delay 0",
		"sysctl net/ipv4/neigh/tap1/proxy_delay 0",
		"sysctl net/ipv6/conf/all/forwarding 1",
		"sysctl net/ipv6/conf/eth1/proxy_ndp 1",
		"sysctl net/ipv6/conf/eth2/proxy_ndp 1",
		"sysctl net/ipv6/conf/tap1/proxy_ndp 0",
		"sysctl net/ipv6/conf/tap2/proxy_ndp 0",
		"sysctl net/ipv6/neigh/eth1/proxy_delay 0",
		"sysctl net/ipv6/neigh/eth2/proxy_delay 0",
		"nft arp output oifname eth1 request sender 192.0.2.254",
		"nft arp output oifname tap1 request sender 192.0.2.1",
		"nft forward iifname tap1 ip saddr != 192.0.2.10 drop",
		"nft forward iifname tap1 ip6 saddr != 2001:db8:1:0:5054:ff:fe00:1 drop",
		"nft forward iifname tap2 ip drop",
		"nft forward iifname tap2 ip6 saddr != 2001:db8:1:0:5054:ff:fe00:2 drop",
	}
	if diff := cmp.Diff(want, got.Lines()); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	wantAnnounce := []routing.Announcement{
		{Addr: netip.MustParseAddr("192.0.2.10"), Dev: "eth1", Route: routing.Route{Dst: netip.MustParsePrefix("192.0.2.10/32"), Dev: "tap1", Table: 500}},
		{Addr: netip.MustParseAddr("2001:db8:1:0:5054:ff:fe00:1"), Dev: "eth1", Route: routing.Route{Dst: netip.MustParsePrefix("2001:db8:1:0:5054:ff:fe00:1/128"), Dev: "tap1", Table: 500}},
		{Addr: netip.MustParseAddr("2001:db8:1:0:5054:ff:fe00:2"), Dev: "eth2", Route: routing.Route{Dst: netip.MustParsePrefix("2001:db8:1:0:5054:ff:fe00:2/128"), Dev: "tap2", Table: 600}},
	}
	if diff := cmp.Diff(wantAnnounce, got.Announce, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Desired announcements (-want +got):\n%s", diff)
	}
}

func TestDesiredRoles(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*routing.Config)
		want   []string
	}{
		{
			name:   "none installs nothing without bindings",
			modify: func(c *routing.Config) { c.Role = routing.RoleNone },
			want:   nil,
		},
		{
			name: "gateway with NAT",
			modify: func(c *routing.Config) {
				c.Role = routing.RoleGateway
				c.WAN = "eth0"
			},
			want: []string{
				"addr 192.0.2.1/24 dev eth1",
				"addr 2001:db8:1::1/64 dev eth1",
				"sysctl net/ipv4/conf/all/forwarding 1",
				"sysctl net/ipv6/conf/all/forwarding 1",
				"nft postrouting ip saddr 192.0.2.0/24 oifname eth0 masquerade",
			},
		},
		{
			name: "router and VMC, IPv4 only, no NAT, named table, separate uplink6",
			modify: func(c *routing.Config) {
				c.Role = routing.RoleVMCGateway
				c.Subnet6 = netip.Prefix{}
				c.Table = "routed_net"
				c.Uplink6 = "eth9"
			},
			want: []string{
				"addr 192.0.2.1/32 dev eth1",
				"route 192.0.2.0/24 dev eth1 table 500",
				"rule iif eth1 lookup 500 pref 20100",
				"rule to 192.0.2.0/24 lookup 500 pref 20100",
				"sysctl net/ipv4/conf/all/forwarding 1",
				"sysctl net/ipv4/conf/eth1/proxy_arp 1",
				"sysctl net/ipv4/neigh/eth1/proxy_delay 0",
			},
		},
		{
			name: "router and VMC, IPv6",
			modify: func(c *routing.Config) {
				c.Role = routing.RoleVMCGateway
				c.Subnet = netip.Prefix{}
			},
			want: []string{
				"addr 2001:db8:1::1/128 dev eth1",
				"route 2001:db8:1::/64 dev eth1 table 500",
				"rule -6 iif eth1 lookup 500 pref 20100",
				"rule -6 to 2001:db8:1::/64 lookup 500 pref 20100",
				"sysctl net/ipv6/conf/all/forwarding 1",
				"sysctl net/ipv6/conf/eth1/proxy_ndp 1",
				"sysctl net/ipv6/neigh/eth1/proxy_delay 0",
			},
		},
		{
			name: "VMC without ARP_IP nor gateways",
			modify: func(c *routing.Config) {
				c.ARPIP = netip.Addr{}
				c.Gateway = netip.Addr{}
				c.Gateway6 = netip.Addr{}
				c.Subnet6 = netip.Prefix{}
			},
			want: []string{
				"route 192.0.2.0/24 dev eth1 table 254",
				"route 192.0.2.0/24 dev eth1 table 500",
				"rule iif eth1 lookup 500 pref 20100",
				"sysctl net/ipv4/conf/eth1/forwarding 1",
				"sysctl net/ipv4/conf/eth1/proxy_arp 1",
				"sysctl net/ipv4/neigh/eth1/proxy_delay 0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := vmcConfig()
			tt.modify(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got, err := routing.Desired(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Lines()); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredKeepsGoodBindingsWhenOneIsBad(t *testing.T) {
	cfg := vmcConfig()
	cfg.Role = routing.RoleNone
	cfg.Antispoof = false
	bad := vm("tap9", 19, "52:54:00:00:00:09", "192.0.2.19", false)
	bad.Table = "nosuchtable"
	got, err := routing.Desired(cfg, []*binding.Active{bad, vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", false)})
	if err == nil {
		t.Errorf("Desired accepted TABLE=nosuchtable")
	}
	want := []string{
		"route 192.0.2.10/32 dev tap1 table 500",
		"rule iif tap1 lookup 500 pref 20200",
		"sysctl net/ipv4/conf/eth1/proxy_arp 1",
		"sysctl net/ipv4/conf/tap1/forwarding 1",
		"sysctl net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl net/ipv4/neigh/eth1/proxy_delay 0",
		"sysctl net/ipv4/neigh/tap1/proxy_delay 0",
		"nft arp output oifname tap1 request sender 192.0.2.1",
	}
	if diff := cmp.Diff(want, got.Lines()); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
}

// bgpVMCConfig is a VM host on its own point-to-point links to the router:
// 198.51.100.1/31 and 2001:db8:ff::3/127, the router at .0 and ::2.
func bgpVMCConfig() routing.Config {
	cfg := vmcConfig()
	cfg.Announce = routing.AnnounceBGP
	cfg.Gateway = netip.MustParseAddr("198.51.100.0")
	cfg.Gateway6 = netip.MustParseAddr("2001:db8:ff::2")
	return cfg
}

// With BGP nothing is proxied on the uplink: no proxy neighbours, proxy
// sysctls, on-link subnet routes, ARP_IP rewriting nor announcements;
// the host routes stay for BIRD, and the rest is as with proxying.
func TestDesiredBGPVMC(t *testing.T) {
	cfg := bgpVMCConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	noGateway := vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.20", false)
	noGateway.Gateway = netip.Addr{}
	got, err := routing.Desired(cfg, []*binding.Active{
		vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true),
		noGateway,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"route 0.0.0.0/0 via 198.51.100.0 dev eth1 table 500",
		"route 192.0.2.0/24 via 198.51.100.0 dev eth1 table 254",
		"route 192.0.2.10/32 dev tap1 table 500",
		"route 192.0.2.20/32 dev tap2 table 500",
		"route 2001:db8:1:0:5054:ff:fe00:1/128 dev tap1 table 500",
		"route 2001:db8:1::/64 via 2001:db8:ff::2 dev eth1 table 254",
		"route ::/0 via 2001:db8:ff::2 dev eth1 table 500",
		"rule -6 iif eth1 lookup 500 pref 20100",
		"rule -6 iif tap1 lookup 500 pref 20200",
		"rule iif eth1 lookup 500 pref 20100",
		"rule iif tap1 lookup 500 pref 20200",
		"rule iif tap2 lookup 500 pref 20200",
		"sysctl net/ipv4/conf/eth1/forwarding 1",
		"sysctl net/ipv4/conf/tap1/forwarding 1",
		"sysctl net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl net/ipv4/conf/tap2/forwarding 1",
		"sysctl net/ipv4/conf/tap2/proxy_arp 1",
		"sysctl net/ipv4/neigh/tap1/proxy_delay 0",
		"sysctl net/ipv4/neigh/tap2/proxy_delay 0",
		"sysctl net/ipv6/conf/all/forwarding 1",
		"sysctl net/ipv6/conf/tap1/proxy_ndp 0",
		// The router's end of the link is not the VM's gateway: tap2's
		// ARP requests keep the sender the kernel chose.
		"nft arp output oifname tap1 request sender 192.0.2.1",
		"nft forward iifname tap1 ip saddr != 192.0.2.10 drop",
		"nft forward iifname tap1 ip6 saddr != 2001:db8:1:0:5054:ff:fe00:1 drop",
		"nft forward iifname tap2 ip saddr != 192.0.2.20 drop",
		"nft forward iifname tap2 ip6 drop",
	}
	if diff := cmp.Diff(want, got.Lines()); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	if len(got.Announce) != 0 {
		t.Errorf("Desired announces %v on the uplink, want nothing", got.Announce)
	}
}

// The router of a BGP fabric holds the VMs' gateway addresses as host
// addresses: an on-link subnet would shadow nothing the BGP routes give
// but would claim the VMs are on the uplink.
func TestDesiredBGPGateway(t *testing.T) {
	cfg := vmcConfig()
	cfg.Announce = routing.AnnounceBGP
	cfg.Role = routing.RoleGateway
	cfg.Uplink = "lo"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got, err := routing.Desired(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"addr 192.0.2.1/32 dev lo",
		"addr 2001:db8:1::1/128 dev lo",
		"sysctl net/ipv4/conf/all/forwarding 1",
		"sysctl net/ipv6/conf/all/forwarding 1",
	}
	if diff := cmp.Diff(want, got.Lines()); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
}
