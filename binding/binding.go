package binding

import (
	"net"
	"net/netip"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// A Binding is the validated content of one binding file: what the daemon
// hands out to, and routes for, one VM NIC.
//
// Unset values are zero: an invalid netip.Addr, a zero netip.Prefix, a nil
// MAC, an empty string, MTU 0.
type Binding struct {
	// Name is the file name, which is the TAP interface name.
	Name string
	// Indev is the interface requests arrive on: the TAP itself (routed) or
	// the bridge (bridged). It defaults to Name.
	Indev string

	MAC      net.HardwareAddr
	IP       netip.Addr // IPv4; invalid for IPv6-only bindings
	Hostname string
	Subnet   netip.Prefix // IPv4 network, masked
	Gateway  netip.Addr   // IPv4 router
	Subnet6  netip.Prefix // IPv6 prefix, masked
	Gateway6 netip.Addr
	// EUI64 is the VM's IPv6 address: the file's EUI64 key, or derived from
	// MAC and Subnet6 when absent (invalid when there is no Subnet6).
	EUI64 netip.Addr

	Private  bool // no default router in DHCP and RA
	MACSpoof bool // do not enforce the source MAC
	MTU      int  // 0 = not sent
	Tags     string

	// Routing module overrides; empty means the config's [routing] default.
	Table   string
	Uplink  string
	Uplink6 string

	// Profile is what the VM is told beyond its address (DNS, search
	// list, NTP, routes, lease times, IPv6 mode, netboot, raw options);
	// keys the file does not give take the configuration's defaults.
	Profile profile.Profile
}

// HasIPv4 reports whether the binding hands out an IPv4 address.
func (b *Binding) HasIPv4() bool { return b.IP.IsValid() }

// HasIPv6 reports whether the binding has an IPv6 prefix to advertise.
func (b *Binding) HasIPv6() bool { return b.Subnet6.IsValid() }
