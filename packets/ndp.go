package packets

import (
	"fmt"
	"net"
	"net/netip"
)

// ICMPv6 types and ND option types the decoders recognise.
const (
	ndTypeRS         = 133
	ndTypeNS         = 135
	ndOptSourceLL    = 1
	ndHopLimit       = 255 // RFC 4861: anything else crossed a router
	ndRSHeaderLen    = 8   // type, code, checksum, reserved
	ndNSHeaderLen    = 24  // type, code, checksum, reserved, target
	ndOptionUnitSize = 8
)

// An RS is a decoded Router Solicitation.
type RS struct {
	// Src is the IPv6 source: the VM's link-local address, or :: while it
	// has none yet.
	Src netip.Addr
	// SourceLL is the source link-layer address option, nil when absent.
	// It shares memory with the decoded packet.
	SourceLL net.HardwareAddr
}

// An NS is a decoded Neighbor Solicitation.
type NS struct {
	// Src is the IPv6 source; :: for a Duplicate Address Detection probe.
	Src netip.Addr
	// Dst is the IPv6 destination: the target's solicited-node group, or
	// the target itself when the VM checks reachability.
	Dst netip.Addr
	// Target is the address whose link-layer address is asked for.
	Target netip.Addr
	// SourceLL is the source link-layer address option, nil when absent.
	// It shares memory with the decoded packet.
	SourceLL net.HardwareAddr
}

// IsDAD reports whether the solicitation is a Duplicate Address Detection
// probe: the sender has no address yet and checks that Target is free.
func (ns *NS) IsDAD() bool { return ns.Src.IsUnspecified() }

// DecodeRS decodes the Router Solicitation in ip, an IPv6 packet, and
// validates it as RFC 4861 §6.1.1 asks (hop limit 255, code 0, no source
// link-layer option from ::). Checksums are not verified: the kernel hands
// over packets it received from a local TAP.
func DecodeRS(ip []byte) (RS, error) {
	p, body, err := ndDecode(ip, ndTypeRS, ndRSHeaderLen)
	if err != nil {
		return RS{}, err
	}
	ll, err := ndSourceLL(body[ndRSHeaderLen:])
	if err != nil {
		return RS{}, fmt.Errorf("packets: router solicitation from %s: %w", p.src, err)
	}
	if ll != nil && p.src.IsUnspecified() {
		return RS{}, fmt.Errorf("packets: router solicitation from :: with a source link-layer address: %w", errMalformed)
	}
	return RS{Src: p.src, SourceLL: ll}, nil
}

// DecodeNS decodes the Neighbor Solicitation in ip, an IPv6 packet, and
// validates it as RFC 4861 §7.1.1 asks (hop limit 255, code 0, unicast
// target, a DAD probe goes to a solicited-node group and carries no source
// link-layer option). Checksums are not verified, as for DecodeRS.
func DecodeNS(ip []byte) (NS, error) {
	p, body, err := ndDecode(ip, ndTypeNS, ndNSHeaderLen)
	if err != nil {
		return NS{}, err
	}
	ns := NS{Src: p.src, Dst: p.dst, Target: netip.AddrFrom16([16]byte(body[8:24]))}
	if ns.Target.IsMulticast() || ns.Target.Is4In6() || ns.Target.IsUnspecified() {
		return NS{}, fmt.Errorf("packets: neighbor solicitation from %s for %s, not a unicast IPv6 target: %w", p.src, ns.Target, errMalformed)
	}
	if ns.SourceLL, err = ndSourceLL(body[ndNSHeaderLen:]); err != nil {
		return NS{}, fmt.Errorf("packets: neighbor solicitation from %s for %s: %w", p.src, ns.Target, err)
	}
	if ns.IsDAD() {
		if ns.SourceLL != nil {
			return NS{}, fmt.Errorf("packets: DAD probe for %s with a source link-layer address: %w", ns.Target, errMalformed)
		}
		if !ndIsSolicitedNode(p.dst) {
			return NS{}, fmt.Errorf("packets: DAD probe for %s sent to %s, not a solicited-node group: %w", ns.Target, p.dst, errMalformed)
		}
	}
	return ns, nil
}

// ndDecode checks the IPv6 and ICMPv6 headers common to RS and NS and
// returns the ICMPv6 message, at least minLen bytes long.
func ndDecode(ip []byte, icmpType uint8, minLen int) (v6Packet, []byte, error) {
	p, err := v6Parse(ip)
	if err != nil {
		return v6Packet{}, nil, err
	}
	if p.proto != v6NextICMPv6 {
		return v6Packet{}, nil, fmt.Errorf("packets: IPv6 next header %d from %s, want ICMPv6: %w", p.proto, p.src, errMalformed)
	}
	body := p.payload
	if len(body) < minLen {
		return v6Packet{}, nil, fmt.Errorf("packets: ICMPv6 message of %d bytes from %s, want at least %d: %w", len(body), p.src, minLen, errMalformed)
	}
	if body[0] != icmpType {
		return v6Packet{}, nil, fmt.Errorf("packets: ICMPv6 type %d from %s, want %d: %w", body[0], p.src, icmpType, errMalformed)
	}
	if body[1] != 0 {
		return v6Packet{}, nil, fmt.Errorf("packets: ICMPv6 type %d code %d from %s, want 0: %w", body[0], body[1], p.src, errMalformed)
	}
	if p.hopLimit != ndHopLimit {
		return v6Packet{}, nil, fmt.Errorf("packets: neighbor discovery from %s with hop limit %d, want 255: %w", p.src, p.hopLimit, errMalformed)
	}
	if p.src.IsMulticast() {
		return v6Packet{}, nil, fmt.Errorf("packets: neighbor discovery from multicast source %s: %w", p.src, errMalformed)
	}
	return p, body, nil
}

// ndSourceLL walks the ND options and returns the Ethernet address of the
// source link-layer option, nil when there is none. Zero-length options
// are malformed (RFC 4861 §4.6) and would loop forever.
func ndSourceLL(opts []byte) (net.HardwareAddr, error) {
	var ll net.HardwareAddr
	for len(opts) > 0 {
		if len(opts) < 2 {
			return nil, fmt.Errorf("truncated ND option: %w", errMalformed)
		}
		n := int(opts[1]) * ndOptionUnitSize
		if n == 0 {
			return nil, fmt.Errorf("ND option %d of length 0: %w", opts[0], errMalformed)
		}
		if n > len(opts) {
			return nil, fmt.Errorf("ND option %d of %d bytes exceeds the %d bytes present: %w", opts[0], n, len(opts), errMalformed)
		}
		if opts[0] == ndOptSourceLL {
			if n != ndOptionUnitSize {
				return nil, fmt.Errorf("source link-layer option of %d bytes, want 8 (Ethernet): %w", n, errUnsupported)
			}
			ll = net.HardwareAddr(opts[2:8:8])
		}
		opts = opts[n:]
	}
	return ll, nil
}

// ndIsSolicitedNode reports whether a is in ff02::1:ff00:0/104.
func ndIsSolicitedNode(a netip.Addr) bool {
	b := a.As16()
	return b[0] == 0xff && b[1] == 0x02 && b[11] == 0x01 && b[12] == 0xff &&
		b[2]|b[3]|b[4]|b[5]|b[6]|b[7]|b[8]|b[9]|b[10] == 0
}
