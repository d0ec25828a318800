package routing

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// Desired returns the kernel state that cfg's role and the active bindings
// call for. It is a pure function of its arguments.
//
// A binding that cannot be routed (its TABLE does not resolve) is left out
// and reported in the returned error; the state of every other binding and
// of the node is still complete, so the caller should apply it anyway.
func Desired(cfg Config, bindings []*binding.Active) (State, error) {
	var s State
	s.Filter = &Filter{}
	var errs []error
	table, err := cfg.Tables.Resolve(cfg.tableOrDefault())
	if err != nil {
		errs = append(errs, fmt.Errorf("routing: config table: %w", err))
	} else {
		node(&s, &cfg, table)
	}
	if cfg.BridgeGuard {
		s.Guard = &GuardTable{Version: GuardVersion}
	}
	for _, b := range bindings {
		if cfg.BridgeGuard {
			if err := guardElems(&s, &b.Binding); err != nil {
				errs = append(errs, err)
			}
		}
		if bridged(&b.Binding) {
			continue // its TAP is a bridge port: nothing is routed through it
		}
		if err := perBinding(&s, &cfg, &b.Binding); err != nil {
			errs = append(errs, err)
		}
	}
	s.normalize()
	return s, errors.Join(errs...)
}

// bridged reports whether b's TAP is a port of a bridge: its INDEV names
// another interface. Such a TAP carries no IP of its own, so it gets no
// routed state, only the bridge guard's entries.
func bridged(b *binding.Binding) bool { return b.Indev != "" && b.Indev != b.Name }

func ipv4Sysctl(dev, key, value string) Sysctl {
	return Sysctl{Name: "net/ipv4/conf/" + dev + "/" + key, Value: value}
}

func ipv6Sysctl(dev, key, value string) Sysctl {
	return Sysctl{Name: "net/ipv6/conf/" + dev + "/" + key, Value: value}
}

// noProxyDelay makes the kernel answer proxied ARP requests (ipv4) or
// neighbour solicitations (ipv6) on dev at once: by default it delays
// answers to broadcast and multicast requests by up to 0.8 s, which would
// slow down every first contact and the convergence after a VM moved.
func noProxyDelay(family, dev string) Sysctl {
	return Sysctl{Name: "net/" + family + "/neigh/" + dev + "/proxy_delay", Value: "0"}
}

// node adds the node-level state of cfg's role: the three snippets of the
// routed setup, or with AnnounceBGP their routed-link variant.
func node(s *State, cfg *Config, table int) {
	role := cfg.Role
	if role == "" || role == RoleNone {
		return
	}
	up, up6 := cfg.Uplink, cfg.uplink6()
	bgp := cfg.bgp()
	if cfg.Subnet.IsValid() && up != "" {
		subnet := cfg.Subnet.Masked()
		if role.isVMC() {
			// Traffic arriving from the router is routed through the VM table.
			s.Rules = append(s.Rules, Rule{IIF: up, Table: table, Priority: NodeRulePriority})
			if !bgp {
				// VM-to-VM traffic goes straight through the uplink.
				s.Routes = append(s.Routes, Route{Dst: subnet, Dev: up, Table: table})
				s.Sysctls = append(s.Sysctls, ipv4Sysctl(up, "proxy_arp", "1"), noProxyDelay("ipv4", up))
			}
		}
		switch role {
		case RoleVMC:
			// The host reaches VMs on other hosts: on the shared segment,
			// or through the router, which knows them from BGP.
			if !bgp {
				s.Routes = append(s.Routes, Route{Dst: subnet, Dev: up, Table: MainTable})
			} else if cfg.Gateway.IsValid() {
				s.Routes = append(s.Routes, Route{Dst: subnet, Via: cfg.Gateway, Dev: up, Table: MainTable})
			}
			// VM traffic leaves through the router; with BGP, traffic to
			// VMs on other hosts too.
			if cfg.Gateway.IsValid() {
				s.Routes = append(s.Routes, Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Via: cfg.Gateway, Dev: up, Table: table})
			}
			s.Sysctls = append(s.Sysctls, ipv4Sysctl(up, "forwarding", "1"))
			if cfg.ARPIP.IsValid() && !bgp {
				s.Filter.ARPSenders = append(s.Filter.ARPSenders, ARPSender{Dev: up, Sender: cfg.ARPIP})
			}
		case RoleGateway:
			if bgp {
				// The VMs' gateway address only: the VMs' routes come
				// from BGP, the links' addresses from the operator.
				s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway, 32), Dev: up})
			} else {
				s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway, subnet.Bits()), Dev: up})
			}
		case RoleVMCGateway:
			// The host reaches its own and other hosts' VMs through the VM table.
			s.Rules = append(s.Rules, Rule{To: subnet, Table: table, Priority: NodeRulePriority})
			s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway, 32), Dev: up})
		}
		if role.isGateway() {
			// A router forwards between every interface, the WAN included.
			s.Sysctls = append(s.Sysctls, Sysctl{Name: "net/ipv4/conf/all/forwarding", Value: "1"})
			if cfg.WAN != "" {
				s.Filter.Masquerade = append(s.Filter.Masquerade, Masquerade{Source: subnet, Dev: cfg.WAN})
			}
		}
	}
	if cfg.Subnet6.IsValid() && up6 != "" {
		subnet6 := cfg.Subnet6.Masked()
		// IPv6 forwarding is a host-wide switch in Linux.
		s.Sysctls = append(s.Sysctls, Sysctl{Name: "net/ipv6/conf/all/forwarding", Value: "1"})
		if role.isVMC() {
			s.Rules = append(s.Rules, Rule{V6: true, IIF: up6, Table: table, Priority: NodeRulePriority})
			if !bgp {
				s.Routes = append(s.Routes, Route{Dst: subnet6, Dev: up6, Table: table})
				s.Sysctls = append(s.Sysctls, ipv6Sysctl(up6, "proxy_ndp", "1"), noProxyDelay("ipv6", up6))
			}
		}
		switch role {
		case RoleVMC:
			if !bgp {
				s.Routes = append(s.Routes, Route{Dst: subnet6, Dev: up6, Table: MainTable})
			} else if cfg.Gateway6.IsValid() {
				s.Routes = append(s.Routes, Route{Dst: subnet6, Via: cfg.Gateway6, Dev: up6, Table: MainTable})
			}
			if cfg.Gateway6.IsValid() {
				s.Routes = append(s.Routes, Route{Dst: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Via: cfg.Gateway6, Dev: up6, Table: table})
			}
		case RoleGateway:
			if bgp {
				s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway6, 128), Dev: up6})
			} else {
				s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway6, subnet6.Bits()), Dev: up6})
			}
		case RoleVMCGateway:
			s.Rules = append(s.Rules, Rule{V6: true, To: subnet6, Table: table, Priority: NodeRulePriority})
			s.Addrs = append(s.Addrs, Addr{Prefix: netip.PrefixFrom(cfg.Gateway6, 128), Dev: up6})
		}
	}
}

// perBinding adds the state of one VM NIC: its rules, host routes, proxy
// neighbour, TAP sysctls, ARP sender rewriting and antispoof filter. With
// AnnounceBGP nothing is proxied on the uplink: the host routes, marked
// with Protocol, are what the routing daemon announces.
func perBinding(s *State, cfg *Config, b *binding.Binding) error {
	tableName := b.Table
	if tableName == "" {
		tableName = cfg.tableOrDefault()
	}
	table, err := cfg.Tables.Resolve(tableName)
	if err != nil {
		return fmt.Errorf("routing: %s: TABLE: %w", b.Name, err)
	}
	tap := b.Name
	up := cfg.Uplink
	if b.Uplink != "" {
		up = b.Uplink
	}
	up6 := cfg.uplink6()
	if b.Uplink6 != "" {
		up6 = b.Uplink6
	} else if b.Uplink != "" {
		up6 = b.Uplink
	}

	if b.IP.IsValid() {
		host := netip.PrefixFrom(b.IP, 32)
		route := Route{Dst: host, Dev: tap, Table: table}
		s.Rules = append(s.Rules, Rule{IIF: tap, Table: table, Priority: BindingRulePriority})
		s.Routes = append(s.Routes, route)
		s.Sysctls = append(s.Sysctls,
			ipv4Sysctl(tap, "proxy_arp", "1"),
			noProxyDelay("ipv4", tap),
			ipv4Sysctl(tap, "forwarding", "1"))
		gw := b.Gateway
		// With BGP the node's gateway is the router's end of the uplink,
		// not the VMs' gateway, unless it lies in their subnet.
		if !gw.IsValid() && (!cfg.bgp() || cfg.Subnet.Contains(cfg.Gateway)) {
			gw = cfg.Gateway
		}
		if gw.IsValid() {
			s.Filter.ARPSenders = append(s.Filter.ARPSenders, ARPSender{Dev: tap, Sender: gw})
		}
		if up != "" && !cfg.bgp() {
			// The uplink answers the router's ARP requests for the VM.
			s.Sysctls = append(s.Sysctls, ipv4Sysctl(up, "proxy_arp", "1"), noProxyDelay("ipv4", up))
			s.Announce = append(s.Announce, Announcement{Addr: b.IP, Dev: up, Route: route})
		}
	}
	if b.EUI64.IsValid() {
		host := netip.PrefixFrom(b.EUI64, 128)
		route := Route{Dst: host, Dev: tap, Table: table}
		s.Rules = append(s.Rules, Rule{V6: true, IIF: tap, Table: table, Priority: BindingRulePriority})
		s.Routes = append(s.Routes, route)
		// The responder answers the VM's neighbour solicitations itself.
		s.Sysctls = append(s.Sysctls, ipv6Sysctl(tap, "proxy_ndp", "0"))
		if up6 != "" && !cfg.bgp() {
			s.Neighs = append(s.Neighs, ProxyNeigh{Addr: b.EUI64, Dev: up6})
			s.Sysctls = append(s.Sysctls, ipv6Sysctl(up6, "proxy_ndp", "1"), noProxyDelay("ipv6", up6))
			s.Announce = append(s.Announce, Announcement{Addr: b.EUI64, Dev: up6, Route: route})
		}
	}
	if cfg.bgp() {
		up, up6 = "", "" // a routing daemon announces the host routes
	}
	perBindingAddresses(s, b, table, tap, up, up6, cfg.bgp())
	if cfg.Antispoof {
		s.Filter.Antispoof = append(s.Filter.Antispoof, antispoofOf(tap, b)...)
	}
	return nil
}
