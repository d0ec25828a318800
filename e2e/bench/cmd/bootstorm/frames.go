package main

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The frames a booting guest sends, built with gopacket (not with the
// daemon's own code, which is what they test).

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allRouters   = netip.MustParseAddr("ff02::2")
	allDHCP      = netip.MustParseAddr("ff02::1:2")
)

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err) // the layers are this file's own: a bug, not input
	}
	return buf.Bytes()
}

// dhcpv4Frame is a DISCOVER (offered invalid) or a REQUEST for offered
// from server, broadcast from 0.0.0.0 as a client in INIT/SELECTING sends
// it.
func dhcpv4Frame(g *guest, msg layers.DHCPMsgType, offered, server netip.Addr) []byte {
	d := &layers.DHCPv4{
		Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
		Xid: g.xid, ClientHWAddr: g.mac,
		Options: layers.DHCPOptions{
			layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(msg)}),
			layers.NewDHCPOption(layers.DHCPOptClientID, append([]byte{1}, g.mac...)),
			layers.NewDHCPOption(layers.DHCPOptParamsRequest, []byte{1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119}),
			layers.NewDHCPOption(layers.DHCPOptMaxMessageSize, []byte{0x05, 0xc0}),
		},
	}
	if msg == layers.DHCPMsgTypeRequest {
		d.Options = append(d.Options,
			layers.NewDHCPOption(layers.DHCPOptRequestIP, offered.AsSlice()),
			layers.NewDHCPOption(layers.DHCPOptServerID, server.AsSlice()))
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4zero, DstIP: net.IPv4bcast}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(&layers.Ethernet{SrcMAC: g.mac, DstMAC: broadcastMAC, EthernetType: layers.EthernetTypeIPv4}, ip, udp, d)
}

// multicastMAC is the Ethernet address of IPv6 multicast group a.
func multicastMAC(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// solicitedNode is the solicited-node multicast group of a.
func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 11: 1, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

func ipv6Frame(g *guest, src, dst netip.Addr, hop uint8, next layers.IPProtocol, payload ...gopacket.SerializableLayer) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: hop, NextHeader: next, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	for _, l := range payload {
		switch l := l.(type) {
		case *layers.ICMPv6:
			l.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			l.SetNetworkLayerForChecksum(ip)
		}
	}
	ls := append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: g.mac, DstMAC: multicastMAC(dst), EthernetType: layers.EthernetTypeIPv6}, ip}, payload...)
	return serialize(ls...)
}

// dadFrame is the Duplicate Address Detection probe for target: a
// Neighbor Solicitation from :: to the target's solicited-node group.
func dadFrame(g *guest, target netip.Addr) []byte {
	return ipv6Frame(g, netip.IPv6Unspecified(), solicitedNode(target), 255, layers.IPProtocolICMPv6,
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)},
		&layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice()})
}

// rsFrame is a Router Solicitation from the guest's link-local address.
func rsFrame(g *guest) []byte {
	return ipv6Frame(g, g.linkLocal, allRouters, 255, layers.IPProtocolICMPv6,
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeRouterSolicitation, 0)},
		&layers.ICMPv6RouterSolicitation{Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: g.mac}}})
}

// infoRequestFrame is a DHCPv6 Information-Request asking for DNS
// servers and the search list, as a stateless client sends it after an RA
// with the O flag.
func infoRequestFrame(g *guest) []byte {
	duid := append([]byte{0, 3, 0, 1}, g.mac...) // DUID-LL, Ethernet
	d := &layers.DHCPv6{
		MsgType:       layers.DHCPv6MsgTypeInformationRequest,
		TransactionID: []byte{byte(g.xid >> 16), byte(g.xid >> 8), byte(g.xid)},
		Options: layers.DHCPv6Options{
			layers.NewDHCPv6Option(layers.DHCPv6OptClientID, duid),
			layers.NewDHCPv6Option(layers.DHCPv6OptOro, []byte{0, 23, 0, 24}),
			layers.NewDHCPv6Option(layers.DHCPv6OptElapsedTime, []byte{0, 0}),
		},
	}
	return ipv6Frame(g, g.linkLocal, allDHCP, 1, layers.IPProtocolUDP, &layers.UDP{SrcPort: 546, DstPort: 547}, d)
}

// eui64 is the address SLAAC forms from mac in prefix.
func eui64(prefix netip.Prefix, mac net.HardwareAddr) netip.Addr {
	b := prefix.Addr().As16()
	b[8], b[9], b[10] = mac[0]^2, mac[1], mac[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(b)
}

// dhcpv4Server returns the server identifier option of a reply.
func dhcpv4Option(d *layers.DHCPv4, t layers.DHCPOpt) []byte {
	for _, o := range d.Options {
		if o.Type == t {
			return o.Data
		}
	}
	return nil
}

func xid24(b []byte) uint32 {
	if len(b) != 3 {
		return 0
	}
	return uint32(b[0])<<16 | uint32(binary.BigEndian.Uint16(b[1:]))
}

var netip6LinkLocal = netip.MustParsePrefix("fe80::/64")
