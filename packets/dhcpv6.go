package packets

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// DHCPv6 UDP ports (RFC 8415 §7.2).
const (
	DHCPv6ClientPort = 546
	DHCPv6ServerPort = 547
	v6UDPHeaderLen   = 8
)

// A DHCPv6Request is a decoded DHCPv6 message from a client.
type DHCPv6Request struct {
	// Src is the client's IPv6 source, normally its link-local address:
	// the destination of the reply.
	Src netip.Addr
	// Msg is the client's message; never a relay message.
	Msg *dhcpv6.Message
}

// ClientMAC returns the link-layer address inside the client's DUID when it
// is a DUID-LL or DUID-LLT, nil otherwise.
func (r *DHCPv6Request) ClientMAC() net.HardwareAddr {
	switch d := r.Msg.Options.ClientID().(type) {
	case *dhcpv6.DUIDLL:
		return d.LinkLayerAddr
	case *dhcpv6.DUIDLLT:
		return d.LinkLayerAddr
	}
	return nil
}

// DecodeDHCPv6 decodes the DHCPv6 client message in ip, an IPv6 packet
// carrying UDP to port 547. Relay messages are refused: the responder
// answers only the VM on the other end of the TAP, never a relay agent.
// Server-to-client messages are refused too. The UDP checksum is not
// verified, as in DecodeRS.
func DecodeDHCPv6(ip []byte) (DHCPv6Request, error) {
	p, err := v6Parse(ip)
	if err != nil {
		return DHCPv6Request{}, err
	}
	if p.proto != v6NextUDP {
		return DHCPv6Request{}, fmt.Errorf("packets: IPv6 next header %d from %s, want UDP: %w", p.proto, p.src, errMalformed)
	}
	if !p.src.IsValid() || p.src.IsUnspecified() || p.src.IsMulticast() {
		return DHCPv6Request{}, fmt.Errorf("packets: DHCPv6 message from %s, an address no reply can go to: %w", p.src, errMalformed)
	}
	u := p.payload
	if len(u) < v6UDPHeaderLen {
		return DHCPv6Request{}, fmt.Errorf("packets: UDP datagram of %d bytes from %s: %w", len(u), p.src, errMalformed)
	}
	if port := binary.BigEndian.Uint16(u[2:4]); port != DHCPv6ServerPort {
		return DHCPv6Request{}, fmt.Errorf("packets: UDP to port %d from %s, want %d: %w", port, p.src, DHCPv6ServerPort, errMalformed)
	}
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	if ulen < v6UDPHeaderLen || ulen > len(u) {
		return DHCPv6Request{}, fmt.Errorf("packets: UDP length %d from %s with %d bytes present: %w", ulen, p.src, len(u), errMalformed)
	}
	data := u[v6UDPHeaderLen:ulen]
	if len(data) < dhcpv6.MessageHeaderSize {
		return DHCPv6Request{}, fmt.Errorf("packets: DHCPv6 message of %d bytes from %s: %w", len(data), p.src, errMalformed)
	}
	t := dhcpv6.MessageType(data[0])
	if !dhcpv6IsClientMessage(t) {
		return DHCPv6Request{}, fmt.Errorf("packets: DHCPv6 %s from %s is not a client message: %w", t, p.src, errUnsupported)
	}
	msg, err := dhcpv6.MessageFromBytes(data)
	if err != nil {
		return DHCPv6Request{}, fmt.Errorf("packets: DHCPv6 %s from %s: %w: %w", t, p.src, err, errMalformed)
	}
	return DHCPv6Request{Src: p.src, Msg: msg}, nil
}

// dhcpv6IsClientMessage reports whether a client sends messages of type t
// straight to a server (RFC 8415 §7.3).
func dhcpv6IsClientMessage(t dhcpv6.MessageType) bool {
	switch t {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeConfirm,
		dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind, dhcpv6.MessageTypeRelease,
		dhcpv6.MessageTypeDecline, dhcpv6.MessageTypeInformationRequest:
		return true
	}
	return false
}
