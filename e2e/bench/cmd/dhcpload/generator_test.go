package main

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// TestGeneratorFrames checks the generator's requests with the daemon's
// decoder and gopacket's checksums, and its reply parser on a reply
// built by another library.
func TestGeneratorFrames(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0xbe, 0x02}
	frame := appendDHCPRequestFrame(nil, mac, 0x01000007, dhcpRequest, []byte{192, 0, 2, 11}, []byte{192, 0, 2, 1})
	var req packets.DHCPv4Request
	if err := packets.ParseDHCPv4(frame[14:], &req); err != nil {
		t.Fatal(err)
	}
	if req.Type != dhcpv4.MessageTypeRequest || req.RequestedIP != netip.MustParseAddr("192.0.2.11") || req.ClientHWAddr.String() != mac.String() {
		t.Errorf("decoded %v for %s from %s", req.Type, req.RequestedIP, req.ClientHWAddr)
	}
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		t.Fatalf("gopacket sees no IPv4/UDP: %v", p)
	}
	// Recomputing over the packet as sent must give the same sums.
	ipSum, udpSum := ip.Checksum, udp.Checksum
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ip, udp, gopacket.Payload(udp.Payload)); err != nil {
		t.Fatal(err)
	}
	again := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
	if got := again.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum; got != ipSum {
		t.Errorf("IPv4 checksum %#x, gopacket computes %#x", ipSum, got)
	}
	if got := again.Layer(layers.LayerTypeUDP).(*layers.UDP).Checksum; got != udpSum {
		t.Errorf("UDP checksum %#x, gopacket computes %#x", udpSum, got)
	}

	offer, err := dhcpv4.New(dhcpv4.WithReply(mustDHCP(t, frame[42:])), dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
		dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 11)), dhcpv4.WithServerIP(net.IPv4(192, 0, 2, 1)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1))))
	if err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}
	rip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(192, 0, 2, 1), DstIP: net.IPv4(192, 0, 2, 11)}
	rudp := &layers.UDP{SrcPort: 67, DstPort: 68}
	rudp.SetNetworkLayerForChecksum(rip)
	out := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(out, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, rip, rudp, gopacket.Payload(offer.ToBytes())); err != nil {
		t.Fatal(err)
	}
	r, ok := parseDHCPReply(out.Bytes())
	if !ok || r.xid != 0x01000007 || r.msgType != dhcpOffer || net.IP(r.yiaddr).String() != "192.0.2.11" || net.IP(r.serverID).String() != "192.0.2.1" {
		t.Errorf("parseDHCPReply = %+v, %v", r, ok)
	}
	if _, ok := parseDHCPReply(frame); ok {
		t.Error("parseDHCPReply took the client's own request for a reply")
	}
}

func mustDHCP(t *testing.T, b []byte) *dhcpv4.DHCPv4 {
	d, err := dhcpv4.FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
