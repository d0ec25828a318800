package routing

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// A Role is the node-level part of the routed setup that a host plays.
type Role string

// The roles of the routed setup (seed/routed-setup.rst).
const (
	// RoleNone installs per-binding state only; the operator sets up the
	// uplink.
	RoleNone Role = "none"
	// RoleVMC is a VM container that forwards VM traffic to an external
	// router on the uplink.
	RoleVMC Role = "vmc"
	// RoleGateway is the router only: it holds the gateway address and
	// optionally masquerades the subnet out of the WAN interface.
	RoleGateway Role = "gateway"
	// RoleVMCGateway is a VM container that is also the router.
	RoleVMCGateway Role = "vmc+gateway"
)

// ParseRole returns the Role named s; an empty s is RoleNone.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case "":
		return RoleNone, nil
	case RoleNone, RoleVMC, RoleGateway, RoleVMCGateway:
		return r, nil
	}
	return "", fmt.Errorf("routing: unknown role %q (want vmc, gateway, vmc+gateway or none): %w", s, errConfig)
}

func (r Role) isVMC() bool     { return r == RoleVMC || r == RoleVMCGateway }
func (r Role) isGateway() bool { return r == RoleGateway || r == RoleVMCGateway }

// An Announce is how the rest of the network learns which host a VM is
// behind.
type Announce string

// The ways of announcing VMs.
const (
	// AnnounceProxy makes the uplink answer ARP and neighbour
	// solicitations for the VMs: every host and the router share one L2
	// segment (seed/routed-setup.rst).
	AnnounceProxy Announce = "proxy"
	// AnnounceBGP leaves the per-VM host routes in the kernel for a
	// routing daemon (BIRD) to announce: each host has its own routed,
	// typically point-to-point, link to the router and nothing is proxied
	// on it.
	AnnounceBGP Announce = "bgp"
)

// ParseAnnounce returns the Announce named s; an empty s is AnnounceProxy.
func ParseAnnounce(s string) (Announce, error) {
	switch a := Announce(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return AnnounceProxy, nil
	case AnnounceProxy, AnnounceBGP:
		return a, nil
	}
	return "", fmt.Errorf("routing: unknown announce %q (want proxy or bgp): %w", s, errConfig)
}

// DefaultTable is the routing table of VM traffic when none is configured.
const DefaultTable = "500"

var errConfig = errors.New("invalid routing configuration")

// A Config is the node's [routing] configuration: the role and the defaults
// that a binding's TABLE, UPLINK and UPLINK6 keys override.
type Config struct {
	Role Role
	// Announce says how VMs are made reachable from the uplink; empty is
	// AnnounceProxy.
	Announce Announce
	// Table is the routing table of VM traffic: a number or a name from
	// the rt_tables files (resolved through Tables).
	Table string
	// Uplink is the interface towards the router; Uplink6 is its IPv6
	// counterpart and defaults to Uplink.
	Uplink  string
	Uplink6 string
	// Subnet and Gateway are the routed IPv4 network and its router. With
	// AnnounceBGP, Gateway of a VMC is the next hop on the uplink (the
	// router's end of a point-to-point link), which need not be in Subnet;
	// Gateway of a router is its own address for the VMs.
	Subnet  netip.Prefix
	Gateway netip.Addr
	// ARPIP is the dummy sender address of the host's own ARP requests on
	// the uplink of a VMC, which has no address of its own in Subnet.
	// AnnounceBGP does not use it: the host has an address on its link.
	ARPIP netip.Addr
	// Subnet6 and Gateway6 are the routed IPv6 network and its router
	// (with AnnounceBGP, as Subnet and Gateway).
	Subnet6  netip.Prefix
	Gateway6 netip.Addr
	// WAN is the interface that gateway roles masquerade Subnet out of;
	// empty means no NAT.
	WAN string
	// Antispoof drops forwarded packets from a TAP whose source address is
	// not the VM's.
	Antispoof bool
	// BridgeGuard installs the bridge guard: a bridge table that drops
	// what a VM on a bridged TAP sends in the name of another (guard.go).
	BridgeGuard bool
	// Tables maps rt_tables names to numbers; nil resolves numbers only
	// (and the kernel's built-in names).
	Tables TableNames
}

// DefaultConfig returns the configuration of an enabled module before the
// operator's keys are applied: role none, table 500, antispoof on.
func DefaultConfig() Config {
	return Config{Role: RoleNone, Table: DefaultTable, Antispoof: true}
}

// uplink6 returns the IPv6 uplink: Uplink6, else Uplink.
func (c *Config) uplink6() string {
	if c.Uplink6 != "" {
		return c.Uplink6
	}
	return c.Uplink
}

// Validate reports the first key of c that cannot work, naming it.
func (c *Config) Validate() error {
	if _, err := ParseRole(string(c.Role)); err != nil {
		return err
	}
	if _, err := ParseAnnounce(string(c.Announce)); err != nil {
		return err
	}
	if c.bgp() && c.Role == RoleVMCGateway {
		// Its VMs would need the other hosts' routes from BGP in the VM
		// table, which the shipped BIRD configuration does not import.
		return fmt.Errorf("routing: role %s cannot announce = bgp (run the router with role gateway and its VMs on hosts with role vmc): %w", c.Role, errConfig)
	}
	if _, err := c.Tables.Resolve(c.tableOrDefault()); err != nil {
		return fmt.Errorf("routing: table: %w", err)
	}
	if c.Subnet.IsValid() && !c.Subnet.Addr().Is4() {
		return fmt.Errorf("routing: subnet %s is not IPv4: %w", c.Subnet, errConfig)
	}
	if c.Subnet6.IsValid() && !c.Subnet6.Addr().Is6() {
		return fmt.Errorf("routing: subnet6 %s is not IPv6: %w", c.Subnet6, errConfig)
	}
	for _, a := range []struct {
		key  string
		addr netip.Addr
		v6   bool
	}{{"gateway", c.Gateway, false}, {"arp_ip", c.ARPIP, false}, {"gateway6", c.Gateway6, true}} {
		if a.addr.IsValid() && a.addr.Is6() != a.v6 {
			return fmt.Errorf("routing: %s %s has the wrong address family: %w", a.key, a.addr, errConfig)
		}
	}
	if c.Role != RoleNone && c.Role != "" {
		if c.Uplink == "" && c.Uplink6 == "" {
			return fmt.Errorf("routing: uplink must be set for role %s: %w", c.Role, errConfig)
		}
		if !c.Subnet.IsValid() && !c.Subnet6.IsValid() {
			return fmt.Errorf("routing: subnet or subnet6 must be set for role %s: %w", c.Role, errConfig)
		}
	}
	if c.Role.isGateway() {
		if c.Subnet.IsValid() && !c.Gateway.IsValid() {
			return fmt.Errorf("routing: gateway must be set for role %s: %w", c.Role, errConfig)
		}
		if c.Subnet6.IsValid() && !c.Gateway6.IsValid() {
			return fmt.Errorf("routing: gateway6 must be set for role %s: %w", c.Role, errConfig)
		}
	}
	return nil
}

// bgp reports whether VMs are announced by a routing daemon rather than
// proxied on the uplink.
func (c *Config) bgp() bool { return c.Announce == AnnounceBGP }

func (c *Config) tableOrDefault() string {
	if c.Table == "" {
		return DefaultTable
	}
	return c.Table
}
