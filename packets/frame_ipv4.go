package packets

import (
	"encoding/binary"
	"net"
	"net/netip"
)

const (
	v4EthernetHeaderLen = 14
	v4EtherTypeIPv4     = 0x0800
	v4DefaultTTL        = 64
	// v4FrameHeadersLen is what Ethernet, IPv4 (no options) and UDP add in
	// front of a UDP payload.
	v4FrameHeadersLen = v4EthernetHeaderLen + v4HeaderMinLen + v4UDPHeaderLen
	// v4EthernetMinFrame is the shortest Ethernet frame without its FCS;
	// shorter frames are padded with zeros.
	v4EthernetMinFrame = 60
)

// A v4UDPFrame describes the headers of an Ethernet frame carrying one UDP
// datagram over IPv4.
type v4UDPFrame struct {
	srcMAC, dstMAC   net.HardwareAddr
	srcIP, dstIP     netip.Addr
	srcPort, dstPort uint16
}

// appendV4UDPFrame appends to dst the complete Ethernet frame carrying
// payload as described by f, with lengths and checksums filled in, and
// returns the extended slice.
//
// The headers are written by hand rather than through gopacket's serializer
// so that a caller reusing dst builds a frame without allocating; tests
// compare the result with gopacket's serialisation byte for byte. Both MACs
// must be 6 bytes and both addresses IPv4: callers check this.
func appendV4UDPFrame(dst []byte, f *v4UDPFrame, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, f.dstMAC[:6]...)
	dst = append(dst, f.srcMAC[:6]...)
	dst = binary.BigEndian.AppendUint16(dst, v4EtherTypeIPv4)

	ipStart := len(dst)
	ipLen := v4HeaderMinLen + v4UDPHeaderLen + len(payload)
	src, dstIP := f.srcIP.As4(), f.dstIP.As4()
	dst = append(dst,
		0x45, 0, // version 4, IHL 5; TOS 0
		byte(ipLen>>8), byte(ipLen),
		0, 0, // identification: never fragmented
		0, 0, // no flags, offset 0
		v4DefaultTTL, v4ProtocolUDP,
		0, 0, // header checksum, filled below
	)
	dst = append(dst, src[:]...)
	dst = append(dst, dstIP[:]...)
	binary.BigEndian.PutUint16(dst[ipStart+10:], v4FoldChecksum(v4SumWords(0, dst[ipStart:ipStart+v4HeaderMinLen])))

	udpStart := len(dst)
	udpLen := v4UDPHeaderLen + len(payload)
	dst = binary.BigEndian.AppendUint16(dst, f.srcPort)
	dst = binary.BigEndian.AppendUint16(dst, f.dstPort)
	dst = binary.BigEndian.AppendUint16(dst, uint16(udpLen))
	dst = append(dst, 0, 0) // checksum, filled below
	dst = append(dst, payload...)

	// The UDP checksum covers a pseudo-header of both addresses, the
	// protocol and the UDP length, then the whole datagram.
	sum := v4SumWords(0, src[:])
	sum = v4SumWords(sum, dstIP[:])
	sum += v4ProtocolUDP + uint32(udpLen)
	sum = v4SumWords(sum, dst[udpStart:])
	csum := v4FoldChecksum(sum)
	if csum == 0 {
		// Zero means "no checksum" in UDP over IPv4 (RFC 768).
		csum = 0xffff
	}
	binary.BigEndian.PutUint16(dst[udpStart+6:], csum)

	for len(dst)-start < v4EthernetMinFrame {
		dst = append(dst, 0)
	}
	return dst
}

// v4SumWords adds b to the one's complement sum as 16-bit big-endian words,
// padding an odd last byte with zero.
func v4SumWords(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// v4FoldChecksum folds the carries of sum and returns its complement, the
// Internet checksum (RFC 1071).
func v4FoldChecksum(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
