package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

// A Role is the node-level routed setup of the host.
type Role string

const (
	// RoleNone installs per-binding state only.
	RoleNone Role = "none"
	// RoleVMC forwards VM traffic to an external router on the uplink.
	RoleVMC Role = "vmc"
	// RoleGateway is the router only: gateway address, forwarding, NAT.
	RoleGateway Role = "gateway"
	// RoleVMCGateway is a router that also hosts VMs.
	RoleVMCGateway Role = "vmc+gateway"
)

// Routing is the [routing] section: the companion module that
// installs the routed setup's kernel state. It is plain values; the routing
// package maps it to its own types.
type Routing struct {
	Enable    bool
	Role      Role
	Table     string // number or rt_tables name
	Uplink    string
	Uplink6   string // defaults to Uplink
	Subnet    netip.Prefix
	Gateway   netip.Addr
	ARPIP     netip.Addr
	Subnet6   netip.Prefix
	Gateway6  netip.Addr
	WAN       string // empty: no NAT
	Antispoof bool
}

func (c *Routing) parse(r *sectionReader) error {
	var err error
	if c.Enable, err = r.boolean("enable_routing", false); err != nil {
		return err
	}
	role := strings.ToLower(r.str("role", string(RoleVMC)))
	switch Role(role) {
	case RoleNone, RoleVMC, RoleGateway, RoleVMCGateway:
		c.Role = Role(role)
	case "":
		c.Role = RoleVMC
	default:
		return r.errorf("role", "%q is not one of vmc, gateway, vmc+gateway, none", role)
	}
	c.Table = r.str("table", "500")
	if c.Table == "" {
		c.Table = "500"
	}
	if !validTable(c.Table) {
		return r.errorf("table", "%q is neither a table number (1-4294967295) nor a table name", c.Table)
	}
	c.Uplink = r.str("uplink", "")
	c.Uplink6 = r.str("uplink6", c.Uplink)
	if c.Uplink6 == "" {
		c.Uplink6 = c.Uplink
	}
	c.WAN = r.str("wan", "")
	for _, f := range []struct{ key, name string }{{"uplink", c.Uplink}, {"uplink6", c.Uplink6}, {"wan", c.WAN}} {
		if f.name != "" && !validIfName(f.name) {
			return r.errorf(f.key, "%q is not an interface name", f.name)
		}
	}
	if c.Subnet, err = r.prefix("subnet", 4); err != nil {
		return err
	}
	if c.Gateway, err = r.addr("gateway", 4); err != nil {
		return err
	}
	if c.ARPIP, err = r.addr("arp_ip", 4); err != nil {
		return err
	}
	if c.Subnet6, err = r.prefix("subnet6", 6); err != nil {
		return err
	}
	if c.Gateway6, err = r.addr("gateway6", 6); err != nil {
		return err
	}
	if c.Antispoof, err = r.boolean("antispoof", true); err != nil {
		return err
	}
	if c.Enable {
		return c.validate(r)
	}
	return nil
}

// validate checks what the enabled module needs for its role, so that a
// half-configured node is refused at start instead of half-routed.
func (c *Routing) validate(r *sectionReader) error {
	if c.Subnet.IsValid() {
		for _, f := range []struct {
			key  string
			addr netip.Addr
		}{{"gateway", c.Gateway}, {"arp_ip", c.ARPIP}} {
			if f.addr.IsValid() && !c.Subnet.Contains(f.addr) {
				return r.errorf(f.key, "%s is outside subnet %s", f.addr, c.Subnet)
			}
		}
	}
	if c.Subnet6.IsValid() && c.Gateway6.IsValid() && !c.Gateway6.IsLinkLocalUnicast() && !c.Subnet6.Contains(c.Gateway6) {
		return r.errorf("gateway6", "%s is outside subnet6 %s", c.Gateway6, c.Subnet6)
	}
	if c.Role == RoleNone {
		return nil
	}
	if c.Uplink == "" && c.Uplink6 == "" {
		return r.errorf("uplink", "role %s needs an uplink interface", c.Role)
	}
	if !c.Subnet.IsValid() && !c.Subnet6.IsValid() {
		return r.errorf("subnet", "role %s needs subnet or subnet6", c.Role)
	}
	if c.Subnet.IsValid() && !c.Gateway.IsValid() {
		return r.errorf("gateway", "role %s needs the router's address in subnet %s", c.Role, c.Subnet)
	}
	if c.Subnet6.IsValid() && !c.Gateway6.IsValid() {
		return r.errorf("gateway6", "role %s needs the router's address in subnet6 %s", c.Role, c.Subnet6)
	}
	return nil
}

// validTable accepts a routing table number other than 0 and the reserved
// 253-255 (default, main, local), or an rt_tables name, which is resolved
// by the routing module when it starts.
func validTable(s string) bool {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return n != 0 && (n < 253 || n > 255)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

// validIfName reports whether s can be a Linux interface name.
func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/ \t\n:")
}

// ModuleConfig maps the [routing] section to the routing module's
// configuration, with table names resolved through the rt_tables files
// under tablesDir.
func (c *Routing) ModuleConfig(tablesDir string) (routing.Config, error) {
	names, err := routing.ReadTableNames(tablesDir)
	if err != nil {
		return routing.Config{}, err
	}
	role, err := routing.ParseRole(string(c.Role))
	if err != nil {
		return routing.Config{}, fmt.Errorf("config: [routing] role: %w", err)
	}
	cfg := routing.Config{
		Role:      role,
		Table:     c.Table,
		Uplink:    c.Uplink,
		Uplink6:   c.Uplink6,
		Subnet:    c.Subnet,
		Gateway:   c.Gateway,
		ARPIP:     c.ARPIP,
		Subnet6:   c.Subnet6,
		Gateway6:  c.Gateway6,
		WAN:       c.WAN,
		Antispoof: c.Antispoof,
		Tables:    names,
	}
	if err := cfg.Validate(); err != nil {
		return routing.Config{}, fmt.Errorf("config: [routing]: %w", err)
	}
	return cfg, nil
}
