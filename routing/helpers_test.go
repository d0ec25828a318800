package routing_test

import (
	"net"
	"net/netip"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// vm returns an active binding of TAP tap with the IPv4 address ip and
// the EUI-64 address of mac in 2001:db8:1::/64 (either may be empty).
func vm(tap string, index int, mac, ip string, v6 bool) *binding.Active {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		panic(err)
	}
	b := binding.Binding{Name: tap, Indev: tap, MAC: hw}
	if ip != "" {
		b.IP = netip.MustParseAddr(ip)
		b.Subnet = netip.MustParsePrefix("192.0.2.0/24")
		b.Gateway = netip.MustParseAddr("192.0.2.1")
	}
	if v6 {
		b.Subnet6 = netip.MustParsePrefix("2001:db8:1::/64")
		b.Gateway6 = netip.MustParseAddr("2001:db8:1::1")
		b.EUI64, err = binding.EUI64(hw, b.Subnet6)
		if err != nil {
			panic(err)
		}
	}
	return &binding.Active{Binding: b, TapIndex: index, IndevMAC: net.HardwareAddr{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}}
}

// vmcConfig is the VMC of the seed: uplink eth1, routed 192.0.2.0/24 and
// 2001:db8:1::/64 behind router .1 / ::1, dummy ARP_IP .254.
func vmcConfig() routing.Config {
	cfg := routing.DefaultConfig()
	cfg.Role = routing.RoleVMC
	cfg.Uplink = "eth1"
	cfg.Subnet = netip.MustParsePrefix("192.0.2.0/24")
	cfg.Gateway = netip.MustParseAddr("192.0.2.1")
	cfg.ARPIP = netip.MustParseAddr("192.0.2.254")
	cfg.Subnet6 = netip.MustParsePrefix("2001:db8:1::/64")
	cfg.Gateway6 = netip.MustParseAddr("2001:db8:1::1")
	cfg.Tables = routing.TableNames{"routed_net": 500, "other": 600}
	return cfg
}
