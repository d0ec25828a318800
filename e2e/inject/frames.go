package inject

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// EtherType values of the frames built here.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
)

// IP protocol numbers of the frames built here.
const (
	protoUDP    = 17
	protoICMPv6 = 58
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ethernet returns the 14-byte Ethernet header.
func ethernet(dst, src net.HardwareAddr, etherType uint16) []byte {
	h := make([]byte, 14, 14+1500)
	copy(h[0:6], dst)
	copy(h[6:12], src)
	binary.BigEndian.PutUint16(h[12:14], etherType)
	return h
}

// A UDPLength overrides the length field of a UDP header; zero means the
// true length.
type UDPLength uint16

// UDP4 returns an Ethernet frame carrying payload in UDP over IPv4 from
// srcMAC, src:sport to dst:dport, broadcast at the Ethernet layer when dst is
// the limited broadcast address. The IPv4 header is always consistent (the
// kernel would drop it before NFQUEUE otherwise); the UDP length may lie
// (udpLen non-zero), and the UDP checksum is left zero, which IPv4 allows.
func UDP4(srcMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, payload []byte, udpLen UDPLength) []byte {
	dstMAC := Broadcast
	f := ethernet(dstMAC, srcMAC, etherTypeIPv4)
	total := 20 + 8 + len(payload)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(total))
	ip[8] = 64
	ip[9] = protoUDP
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(0, ip))
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:2], sport)
	binary.BigEndian.PutUint16(udp[2:4], dport)
	l := uint16(8 + len(payload))
	if udpLen != 0 {
		l = uint16(udpLen)
	}
	binary.BigEndian.PutUint16(udp[4:6], l)
	f = append(f, ip...)
	f = append(f, udp...)
	return append(f, payload...)
}

// IPv6 returns an Ethernet frame carrying an IPv6 packet of the given next
// header with body, whose UDP or ICMPv6 checksum is computed (at offset 6
// for UDP, 2 for ICMPv6) unless the body is too short to hold one.
func IPv6(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, nextHeader byte, hopLimit byte, body []byte) []byte {
	f := ethernet(dstMAC, srcMAC, etherTypeIPv6)
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(body)))
	ip[6] = nextHeader
	ip[7] = hopLimit
	s16, d16 := src.As16(), dst.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	body = append([]byte(nil), body...)
	at := -1
	switch nextHeader {
	case protoUDP:
		at = 6
	case protoICMPv6:
		at = 2
	}
	if at >= 0 && len(body) >= at+2 {
		body[at], body[at+1] = 0, 0
		pseudo := make([]byte, 0, 40)
		pseudo = append(pseudo, s16[:]...)
		pseudo = append(pseudo, d16[:]...)
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(body)))
		pseudo = append(pseudo, 0, 0, 0, nextHeader)
		sum := checksum(sumWords(0, pseudo), body)
		if nextHeader == protoUDP && sum == 0 {
			sum = 0xffff
		}
		binary.BigEndian.PutUint16(body[at:at+2], sum)
	}
	f = append(f, ip...)
	return append(f, body...)
}

// UDP6 returns a UDP datagram over IPv6 (see IPv6); the UDP length may lie
// (udpLen non-zero).
func UDP6(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, payload []byte, udpLen UDPLength) []byte {
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:2], sport)
	binary.BigEndian.PutUint16(udp[2:4], dport)
	l := uint16(8 + len(payload))
	if udpLen != 0 {
		l = uint16(udpLen)
	}
	binary.BigEndian.PutUint16(udp[4:6], l)
	return IPv6(srcMAC, dstMAC, src, dst, protoUDP, 64, append(udp, payload...))
}

// ICMPv6 returns an ICMPv6 message of the given type and code with body
// after the 4-byte header, with hop limit 255 as Neighbor Discovery wants.
func ICMPv6(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, typ, code byte, body []byte) []byte {
	msg := append([]byte{typ, code, 0, 0}, body...)
	return IPv6(srcMAC, dstMAC, src, dst, protoICMPv6, 255, msg)
}

// SolicitedNode returns the solicited-node multicast address of a and its
// Ethernet multicast address.
func SolicitedNode(a netip.Addr) (netip.Addr, net.HardwareAddr) {
	b := a.As16()
	g := [16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]}
	return netip.AddrFrom16(g), net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
}

// AllRouters is ff02::2 and its Ethernet multicast address.
var (
	AllRouters    = netip.MustParseAddr("ff02::2")
	AllRoutersMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 2}
	AllDHCPv6     = netip.MustParseAddr("ff02::1:2")
	AllDHCPv6MAC  = net.HardwareAddr{0x33, 0x33, 0, 1, 0, 2}
)

// sumWords adds b to the running one's complement sum.
func sumWords(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// checksum returns the Internet checksum of b added to the partial sum.
func checksum(sum uint32, b []byte) uint16 {
	sum = sumWords(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
