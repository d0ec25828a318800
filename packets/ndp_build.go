package packets

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// ndAdvertisedHopLimit is the hop limit a Router Advertisement suggests to
// the VM; 64 is what Linux and radvd use by default.
const ndAdvertisedHopLimit = 64

// RAParams describes one Router Advertisement. Durations are rounded down
// to whole seconds on the wire.
type RAParams struct {
	// RouterMAC is INDEV's MAC: the Ethernet source, the source link-layer
	// option, and (through EUI-64) the link-local IPv6 source.
	RouterMAC net.HardwareAddr
	// Dst is the IPv6 destination and DstMAC its Ethernet address. An
	// invalid Dst means the all-nodes group ff02::1, and a nil DstMAC the
	// group MAC of a multicast Dst.
	Dst    netip.Addr
	DstMAC net.HardwareAddr

	Managed bool // M flag: addresses come from DHCPv6
	Other   bool // O flag: other configuration (DNS) comes from DHCPv6
	// RouterLifetime is how long the VM may use the sender as its default
	// router; 0 means it is not a default router.
	RouterLifetime time.Duration

	// Prefix is announced on-link in a prefix information option when valid.
	Prefix            netip.Prefix
	Autonomous        bool // A flag: the VM forms its address by SLAAC
	ValidLifetime     time.Duration
	PreferredLifetime time.Duration

	// DNS and Domains become RDNSS and DNSSL options (RFC 8106) with
	// DNSLifetime when not empty.
	DNS         []netip.Addr
	Domains     []string
	DNSLifetime time.Duration

	// MTU is sent in an MTU option when not 0.
	MTU int

	// Preference is the default router preference (RFC 4191 §2.2).
	Preference ndp.Preference
	// Routes become route information options (RFC 4191 §2.3).
	Routes []RouteInfo
	// PREF64 is the NAT64 prefix (RFC 8781) announced with PREF64Lifetime
	// when valid.
	PREF64         netip.Prefix
	PREF64Lifetime time.Duration
}

// A RouteInfo is one route information option: a prefix the router
// reaches, with its preference and lifetime.
type RouteInfo struct {
	Prefix     netip.Prefix
	Preference ndp.Preference
	Lifetime   time.Duration
}

// BuildRA returns the Ethernet frame of the Router Advertisement p describes.
func BuildRA(p RAParams) ([]byte, error) {
	src, err := binding.LinkLocal(p.RouterMAC)
	if err != nil {
		return nil, fmt.Errorf("packets: router advertisement source: %w: %w", err, errInvalidParams)
	}
	dst, dstMAC := ndDestination(p.Dst, p.DstMAC)
	if p.Prefix.IsValid() && (!p.Prefix.Addr().Is6() || p.Prefix.Addr().Is4In6()) {
		return nil, fmt.Errorf("packets: router advertisement of non-IPv6 prefix %s: %w", p.Prefix, errInvalidParams)
	}
	for _, a := range p.DNS {
		if !a.Is6() || a.Is4In6() {
			return nil, fmt.Errorf("packets: router advertisement of non-IPv6 DNS server %s: %w", a, errInvalidParams)
		}
	}
	if p.MTU < 0 || int64(p.MTU) > 0xffffffff {
		return nil, fmt.Errorf("packets: router advertisement MTU %d out of range: %w", p.MTU, errInvalidParams)
	}
	ra := &ndp.RouterAdvertisement{
		CurrentHopLimit:           ndAdvertisedHopLimit,
		ManagedConfiguration:      p.Managed,
		OtherConfiguration:        p.Other,
		RouterSelectionPreference: p.Preference,
		RouterLifetime:            p.RouterLifetime.Truncate(time.Second),
		Options:                   make([]ndp.Option, 0, 6+len(p.Routes)),
	}
	ra.Options = append(ra.Options, &ndp.LinkLayerAddress{Direction: ndp.Source, Addr: p.RouterMAC})
	if p.MTU != 0 {
		ra.Options = append(ra.Options, ndp.NewMTU(uint32(p.MTU)))
	}
	if p.Prefix.IsValid() {
		pfx := p.Prefix.Masked()
		ra.Options = append(ra.Options, &ndp.PrefixInformation{
			PrefixLength:                   uint8(pfx.Bits()),
			OnLink:                         true,
			AutonomousAddressConfiguration: p.Autonomous,
			ValidLifetime:                  p.ValidLifetime.Truncate(time.Second),
			PreferredLifetime:              p.PreferredLifetime.Truncate(time.Second),
			Prefix:                         pfx.Addr(),
		})
	}
	if len(p.DNS) > 0 {
		ra.Options = append(ra.Options, &ndp.RecursiveDNSServer{Lifetime: p.DNSLifetime.Truncate(time.Second), Servers: p.DNS})
	}
	if len(p.Domains) > 0 {
		ra.Options = append(ra.Options, &ndp.DNSSearchList{Lifetime: p.DNSLifetime.Truncate(time.Second), DomainNames: p.Domains})
	}
	for _, r := range p.Routes {
		pfx := r.Prefix.Masked()
		if !pfx.Addr().Is6() || pfx.Addr().Is4In6() {
			return nil, fmt.Errorf("packets: router advertisement of non-IPv6 route %s: %w", r.Prefix, errInvalidParams)
		}
		ra.Options = append(ra.Options, &ndp.RouteInformation{
			PrefixLength:  uint8(pfx.Bits()),
			Preference:    r.Preference,
			RouteLifetime: r.Lifetime.Truncate(time.Second),
			Prefix:        pfx.Addr(),
		})
	}
	if p.PREF64.IsValid() {
		ra.Options = append(ra.Options, &ndp.PREF64{Lifetime: p.PREF64Lifetime.Truncate(time.Second), Prefix: p.PREF64.Masked()})
	}
	body, err := ndp.MarshalMessageChecksum(ra, src, dst)
	if err != nil {
		return nil, fmt.Errorf("packets: router advertisement to %s: %w: %w", dst, err, errInvalidParams)
	}
	return v6SerializeICMPv6(v6Frame{srcMAC: p.RouterMAC, dstMAC: dstMAC, src: src, dst: dst, hopLimit: ndHopLimit}, body)
}

// NAParams describes one Neighbor Advertisement sent on behalf of the host.
type NAParams struct {
	// RouterMAC is INDEV's MAC: the Ethernet source and the target
	// link-layer option.
	RouterMAC net.HardwareAddr
	// Dst is the solicitation's source and DstMAC its Ethernet address. An
	// unspecified or invalid Dst (the solicitation was a DAD probe) means
	// the all-nodes group and an unsolicited advertisement (RFC 4861
	// §7.2.4); a nil DstMAC means the group MAC of a multicast Dst.
	Dst    netip.Addr
	DstMAC net.HardwareAddr
	// Target is the solicited address.
	Target netip.Addr
	// Router sets the R flag: the host routes for the VM.
	Router bool
}

// BuildNA returns the Ethernet frame of the Neighbor Advertisement p
// describes. It comes from the target address itself, as if its owner
// answered: strict clients (ndisc6) match the source against the target.
// It always sets the override flag: the host is the only owner of the
// addresses it answers for, so the VM must replace any stale entry.
func BuildNA(p NAParams) ([]byte, error) { return AppendNA(nil, p) }

// buildNALibrary builds the frame BuildNA returns with mdlayher/ndp and
// gopacket: the reference the hand-written AppendNA is proven against.
func buildNALibrary(p NAParams) ([]byte, error) {
	if len(p.RouterMAC) != 6 {
		return nil, fmt.Errorf("packets: neighbor advertisement from MAC %q, want 48 bits: %w", p.RouterMAC, errInvalidParams)
	}
	src := p.Target
	if !src.Is6() || src.Is4In6() || src.IsMulticast() || src.IsUnspecified() {
		return nil, fmt.Errorf("packets: neighbor advertisement for %s, not an IPv6 unicast address: %w", p.Target, errInvalidParams)
	}
	solicited := p.Dst.IsValid() && !p.Dst.IsUnspecified() && !p.Dst.IsMulticast()
	if p.Dst.IsUnspecified() {
		p.Dst = netip.Addr{}
	}
	dst, dstMAC := ndDestination(p.Dst, p.DstMAC)
	na := &ndp.NeighborAdvertisement{
		Router:        p.Router,
		Solicited:     solicited,
		Override:      true,
		TargetAddress: p.Target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: p.RouterMAC}},
	}
	body, err := ndp.MarshalMessageChecksum(na, src, dst)
	if err != nil {
		return nil, fmt.Errorf("packets: neighbor advertisement for %s to %s: %w: %w", p.Target, dst, err, errInvalidParams)
	}
	return v6SerializeICMPv6(v6Frame{srcMAC: p.RouterMAC, dstMAC: dstMAC, src: src, dst: dst, hopLimit: ndHopLimit}, body)
}

// ndDestination fills in the all-nodes group for an invalid dst and the
// group MAC for a multicast dst without an explicit MAC.
func ndDestination(dst netip.Addr, dstMAC net.HardwareAddr) (netip.Addr, net.HardwareAddr) {
	if !dst.IsValid() {
		dst = v6AllNodes
	}
	if dstMAC == nil && dst.IsMulticast() {
		dstMAC = v6MulticastMAC(dst)
	}
	return dst, dstMAC
}
