package packets

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// IPv6 protocol numbers the decoders walk through or stop at.
const (
	v6NextHopByHop    = 0
	v6NextUDP         = 17
	v6NextRouting     = 43
	v6NextFragment    = 44
	v6NextICMPv6      = 58
	v6NextNoNext      = 59
	v6NextDestination = 60
	v6HeaderLen       = 40
	// v6MaxExtHeaders bounds the walk through extension headers; a request
	// from a VM never carries more than a hop-by-hop and a destination
	// options header.
	v6MaxExtHeaders = 4
)

// A v6Packet is the part of an IPv6 packet the decoders look at: the
// addresses, the hop limit, and the upper-layer protocol with its bytes
// once extension headers are skipped.
type v6Packet struct {
	src, dst netip.Addr
	hopLimit uint8
	proto    uint8
	payload  []byte
}

// v6Parse reads the IPv6 header of ip and skips hop-by-hop, routing and
// destination options headers. Fragments are refused: no bootstrap request
// is ever fragmented, and reassembly is not the responder's business.
func v6Parse(ip []byte) (v6Packet, error) {
	if len(ip) < v6HeaderLen {
		return v6Packet{}, fmt.Errorf("packets: IPv6 packet of %d bytes is shorter than its header: %w", len(ip), errMalformed)
	}
	if v := ip[0] >> 4; v != 6 {
		return v6Packet{}, fmt.Errorf("packets: IP version %d, want 6: %w", v, errMalformed)
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if plen > len(ip)-v6HeaderLen {
		return v6Packet{}, fmt.Errorf("packets: IPv6 payload length %d exceeds the %d bytes present: %w", plen, len(ip)-v6HeaderLen, errMalformed)
	}
	p := v6Packet{
		src:      netip.AddrFrom16([16]byte(ip[8:24])),
		dst:      netip.AddrFrom16([16]byte(ip[24:40])),
		hopLimit: ip[7],
		proto:    ip[6],
		// Bytes past the payload length are link-layer padding.
		payload: ip[v6HeaderLen : v6HeaderLen+plen],
	}
	// IPv4-mapped addresses never appear on the wire (RFC 4291 §2.5.5.2);
	// a reply to one could not be built.
	if p.src.Is4In6() || p.dst.Is4In6() {
		return v6Packet{}, fmt.Errorf("packets: IPv4-mapped address in IPv6 header (%s to %s): %w", p.src, p.dst, errMalformed)
	}
	for i := 0; ; i++ {
		switch p.proto {
		case v6NextHopByHop, v6NextRouting, v6NextDestination:
		case v6NextFragment:
			return v6Packet{}, fmt.Errorf("packets: fragmented IPv6 packet from %s: %w", p.src, errUnsupported)
		default:
			return p, nil
		}
		if p.proto == v6NextHopByHop && i != 0 {
			return v6Packet{}, fmt.Errorf("packets: IPv6 hop-by-hop header not first: %w", errMalformed)
		}
		if i == v6MaxExtHeaders {
			return v6Packet{}, fmt.Errorf("packets: more than %d IPv6 extension headers: %w", v6MaxExtHeaders, errUnsupported)
		}
		if len(p.payload) < 8 {
			return v6Packet{}, fmt.Errorf("packets: truncated IPv6 extension header %d: %w", p.proto, errMalformed)
		}
		n := (int(p.payload[1]) + 1) * 8
		if n > len(p.payload) {
			return v6Packet{}, fmt.Errorf("packets: IPv6 extension header %d of %d bytes exceeds the %d bytes present: %w", p.proto, n, len(p.payload), errMalformed)
		}
		p.proto = p.payload[0]
		p.payload = p.payload[n:]
	}
}

// v6AllNodes is the link-scope all-nodes multicast group, the destination
// of unsolicited advertisements.
var v6AllNodes = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})

// v6MulticastMAC returns the Ethernet group address an IPv6 multicast
// destination maps to (RFC 2464 §7): 33:33 followed by its last 32 bits.
func v6MulticastMAC(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// v6Frame holds what the Ethernet and IPv6 headers of a reply need.
type v6Frame struct {
	srcMAC, dstMAC net.HardwareAddr
	src, dst       netip.Addr
	hopLimit       uint8
}

// v6Check refuses parameters that cannot make a valid frame, so that the
// serialiser below never sees them.
func (f *v6Frame) v6Check() error {
	if len(f.srcMAC) != 6 || len(f.dstMAC) != 6 {
		return fmt.Errorf("packets: IPv6 frame needs 48-bit MACs, got source %q and destination %q: %w", f.srcMAC, f.dstMAC, errInvalidParams)
	}
	if !f.src.Is6() || f.src.Is4In6() || !f.dst.Is6() || f.dst.Is4In6() {
		return fmt.Errorf("packets: IPv6 frame needs IPv6 addresses, got %s and %s: %w", f.src, f.dst, errInvalidParams)
	}
	return nil
}

// v6SerializeICMPv6 returns the frame carrying body, an ICMPv6 message
// whose checksum is already computed for f's addresses.
func v6SerializeICMPv6(f v6Frame, body []byte) ([]byte, error) {
	if err := f.v6Check(); err != nil {
		return nil, err
	}
	eth, ip := f.v6Layers(layers.IPProtocolICMPv6)
	buf := gopacket.NewSerializeBufferExpectedSize(14+v6HeaderLen, len(body))
	opts := gopacket.SerializeOptions{FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, gopacket.Payload(body)); err != nil {
		return nil, fmt.Errorf("packets: serialising ICMPv6 frame to %s: %w", f.dst, err)
	}
	return buf.Bytes(), nil
}

// v6SerializeUDP returns the frame carrying payload in a UDP datagram
// between the given ports, checksum computed.
func v6SerializeUDP(f v6Frame, srcPort, dstPort uint16, payload []byte) ([]byte, error) {
	if err := f.v6Check(); err != nil {
		return nil, err
	}
	eth, ip := f.v6Layers(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(srcPort), DstPort: layers.UDPPort(dstPort)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, fmt.Errorf("packets: UDP checksum over IPv6: %w", err)
	}
	buf := gopacket.NewSerializeBufferExpectedSize(14+v6HeaderLen+8, len(payload))
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		return nil, fmt.Errorf("packets: serialising UDP frame to [%s]:%d: %w", f.dst, dstPort, err)
	}
	return buf.Bytes(), nil
}

func (f *v6Frame) v6Layers(next layers.IPProtocol) (*layers.Ethernet, *layers.IPv6) {
	eth := &layers.Ethernet{SrcMAC: f.srcMAC, DstMAC: f.dstMAC, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{
		Version:    6,
		NextHeader: next,
		HopLimit:   f.hopLimit,
		SrcIP:      f.src.AsSlice(),
		DstIP:      f.dst.AsSlice(),
	}
	return eth, ip
}
