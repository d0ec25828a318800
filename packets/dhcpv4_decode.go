package packets

import (
	"encoding/binary"
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Ports of DHCPv4 (RFC 2131 §4.1).
const (
	dhcpv4ServerPort = 67
	dhcpv4ClientPort = 68
)

const (
	v4HeaderMinLen  = 20
	v4ProtocolUDP   = 17
	v4UDPHeaderLen  = 8
	v4FlagMoreFrags = 0x2000
	v4FragOffset    = 0x1fff
)

// DecodeDHCPv4 decodes the DHCPv4 request carried by ipPacket, an IPv4
// datagram as NFQUEUE hands it over (starting at the IPv4 header).
//
// It accepts only what a DHCP server may answer: an unfragmented UDP datagram
// to port 67 holding a BOOTREQUEST from an Ethernet client (htype 1, hlen 6)
// with a DHCP message type. The IPv4 header checksum is not verified because
// the kernel already did so before the packet reached the PREROUTING hook;
// the UDP checksum is not verified either, as the original daemon did not and
// a TAP cannot corrupt a frame in transit.
//
// Every error wraps a sentinel of this package (see IsMalformed and
// IsUnsupported). DecodeDHCPv4 never panics, whatever the input.
func DecodeDHCPv4(ipPacket []byte) (*dhcpv4.DHCPv4, error) {
	payload, err := v4UDPPayload(ipPacket, dhcpv4ServerPort)
	if err != nil {
		return nil, err
	}
	msg, err := dhcpv4.FromBytes(payload)
	if err != nil {
		return nil, fmt.Errorf("packets: DHCPv4 message: %v: %w", err, errMalformed)
	}
	if msg.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, fmt.Errorf("packets: DHCPv4 op %d is not BOOTREQUEST: %w", msg.OpCode, errMalformed)
	}
	if msg.HWType != iana.HWTypeEthernet || len(msg.ClientHWAddr) != 6 {
		return nil, fmt.Errorf("packets: DHCPv4 hardware type %d length %d is not Ethernet: %w",
			msg.HWType, len(msg.ClientHWAddr), errUnsupported)
	}
	if t := msg.MessageType(); t == dhcpv4.MessageTypeNone {
		return nil, fmt.Errorf("packets: DHCPv4 message without a valid message type (option 53 = %x): %w",
			msg.Options.Get(dhcpv4.OptionDHCPMessageType), errMalformed)
	}
	return msg, nil
}

// v4UDPPayload checks the IPv4 and UDP headers of ipPacket and returns the
// UDP payload, bounded by the UDP length. The datagram must be addressed to
// dstPort.
func v4UDPPayload(ipPacket []byte, dstPort uint16) ([]byte, error) {
	if len(ipPacket) < v4HeaderMinLen {
		return nil, fmt.Errorf("packets: IPv4 packet of %d bytes is shorter than a header: %w", len(ipPacket), errMalformed)
	}
	if v := ipPacket[0] >> 4; v != 4 {
		return nil, fmt.Errorf("packets: IP version %d, want 4: %w", v, errMalformed)
	}
	ihl := int(ipPacket[0]&0x0f) * 4
	if ihl < v4HeaderMinLen {
		return nil, fmt.Errorf("packets: IPv4 header length %d is below 20: %w", ihl, errMalformed)
	}
	total := int(binary.BigEndian.Uint16(ipPacket[2:4]))
	if total < ihl || total > len(ipPacket) {
		return nil, fmt.Errorf("packets: IPv4 total length %d does not fit header %d and buffer %d: %w",
			total, ihl, len(ipPacket), errMalformed)
	}
	if frag := binary.BigEndian.Uint16(ipPacket[6:8]); frag&(v4FlagMoreFrags|v4FragOffset) != 0 {
		return nil, fmt.Errorf("packets: IPv4 fragment (flags/offset %#04x) refused: %w", frag, errUnsupported)
	}
	if p := ipPacket[9]; p != v4ProtocolUDP {
		return nil, fmt.Errorf("packets: IPv4 protocol %d is not UDP: %w", p, errUnsupported)
	}
	udp := ipPacket[ihl:total]
	if len(udp) < v4UDPHeaderLen {
		return nil, fmt.Errorf("packets: UDP datagram of %d bytes is shorter than a header: %w", len(udp), errMalformed)
	}
	if port := binary.BigEndian.Uint16(udp[2:4]); port != dstPort {
		return nil, fmt.Errorf("packets: UDP destination port %d, want %d: %w", port, dstPort, errUnsupported)
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < v4UDPHeaderLen || ulen > len(udp) {
		return nil, fmt.Errorf("packets: UDP length %d does not fit %d bytes: %w", ulen, len(udp), errMalformed)
	}
	return udp[v4UDPHeaderLen:ulen], nil
}
