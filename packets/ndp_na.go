package packets

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Sizes and fields of the Neighbor Advertisement frame AppendNA writes:
// Ethernet, an IPv6 header without extension headers, the 24-byte NA and
// its one target link-layer address option.
const (
	ethHeaderLen      = 14
	ethTypeIPv6       = 0x86dd
	ndTypeNA          = 136
	ndOptTargetLL     = 2
	ndNAHeaderLen     = 24 // type, code, checksum, flags, reserved, target
	ndNAFlagRouter    = 0x80
	ndNAFlagSolicited = 0x40
	ndNAFlagOverride  = 0x20
	naBodyLen         = ndNAHeaderLen + ndOptionUnitSize
	naFrameLen        = ethHeaderLen + v6HeaderLen + naBodyLen
)

// AppendNA appends the Ethernet frame of the Neighbor Advertisement p
// describes to b and returns the extended slice, as BuildNA does but
// without allocating when b has room for it: the NS queue builds every
// advertisement into one reused buffer. The bytes are those mdlayher/ndp
// and gopacket produce for the same parameters (the library path is kept
// in buildNALibrary and compared in the package's differential test).
func AppendNA(b []byte, p NAParams) ([]byte, error) {
	if len(p.RouterMAC) != 6 {
		return b, fmt.Errorf("packets: neighbor advertisement from MAC %q, want 48 bits: %w", p.RouterMAC, errInvalidParams)
	}
	src := p.Target
	if !src.Is6() || src.Is4In6() || src.IsMulticast() || src.IsUnspecified() {
		return b, fmt.Errorf("packets: neighbor advertisement for %s, not an IPv6 unicast address: %w", p.Target, errInvalidParams)
	}
	solicited := p.Dst.IsValid() && !p.Dst.IsUnspecified() && !p.Dst.IsMulticast()
	dst := p.Dst
	if !dst.IsValid() || dst.IsUnspecified() {
		dst = v6AllNodes
	}
	if !dst.Is6() || dst.Is4In6() {
		return b, fmt.Errorf("packets: IPv6 frame needs IPv6 addresses, got %s and %s: %w", src, dst, errInvalidParams)
	}
	if p.DstMAC == nil && !dst.IsMulticast() || p.DstMAC != nil && len(p.DstMAC) != 6 {
		return b, fmt.Errorf("packets: IPv6 frame needs 48-bit MACs, got source %q and destination %q: %w", p.RouterMAC, p.DstMAC, errInvalidParams)
	}

	start := len(b)
	b = append(b, make([]byte, naFrameLen)...)
	f := b[start:]
	// Ethernet.
	if p.DstMAC != nil {
		copy(f[0:6], p.DstMAC)
	} else {
		v6PutMulticastMAC(f[0:6], dst)
	}
	copy(f[6:12], p.RouterMAC)
	binary.BigEndian.PutUint16(f[12:14], ethTypeIPv6)
	// IPv6: version 6, traffic class and flow label 0.
	ip := f[ethHeaderLen:]
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], naBodyLen)
	ip[6] = v6NextICMPv6
	ip[7] = ndHopLimit
	srcBytes, dstBytes := src.As16(), dst.As16()
	copy(ip[8:24], srcBytes[:])
	copy(ip[24:40], dstBytes[:])
	// ICMPv6 Neighbor Advertisement and its target link-layer option.
	na := ip[v6HeaderLen:]
	na[0] = ndTypeNA
	flags := byte(ndNAFlagOverride)
	if p.Router {
		flags |= ndNAFlagRouter
	}
	if solicited {
		flags |= ndNAFlagSolicited
	}
	na[4] = flags
	copy(na[8:24], srcBytes[:])
	na[24] = ndOptTargetLL
	na[25] = 1
	copy(na[26:32], p.RouterMAC)
	binary.BigEndian.PutUint16(na[2:4], v6ICMPv6Checksum(srcBytes, dstBytes, na[:naBodyLen]))
	return b, nil
}

// v6PutMulticastMAC writes the Ethernet group address of the IPv6
// multicast address a into mac, as v6MulticastMAC returns it.
func v6PutMulticastMAC(mac []byte, a netip.Addr) {
	b := a.As16()
	mac[0], mac[1] = 0x33, 0x33
	copy(mac[2:6], b[12:16])
}

// v6ICMPv6Checksum returns the ICMPv6 checksum of msg, whose own checksum
// field is zero, sent from src to dst (RFC 4443 §2.3: the one's complement
// sum covers the IPv6 pseudo-header too).
func v6ICMPv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	for i := 0; i < 16; i += 2 {
		sum += uint32(src[i])<<8 | uint32(src[i+1])
		sum += uint32(dst[i])<<8 | uint32(dst[i+1])
	}
	n := uint32(len(msg))
	sum += n>>16 + n&0xffff
	sum += v6NextICMPv6
	return onesComplement(sum, msg)
}

// onesComplement adds data to the partial sum as big-endian 16-bit words
// (an odd last byte padded with zero), folds the carries and returns the
// complement: the Internet checksum of RFC 1071.
func onesComplement(sum uint32, data []byte) uint16 {
	for len(data) >= 2 {
		sum += uint32(data[0])<<8 | uint32(data[1])
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint32(data[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
