package packets

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/ndp"
)

// GratuitousARP returns the Ethernet frame of an ARP announcement (RFC 5227
// §2.3, what `arpsend -U` sends): a broadcast request from mac whose sender
// and target protocol addresses are both ip. Neighbours that cache ip
// update it to mac, so traffic for a VM that moved reaches its new host.
func GratuitousARP(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("packets: gratuitous ARP needs a 48-bit MAC, got %q: %w", mac, errInvalidParams)
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("packets: gratuitous ARP for %s, want an IPv4 address: %w", ip, errInvalidParams)
	}
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	a := ip.As4()
	arp := &layers.ARP{
		AddrType:          layers.LinkTypeEthernet,
		Protocol:          layers.EthernetTypeIPv4,
		HwAddressSize:     6,
		ProtAddressSize:   4,
		Operation:         layers.ARPRequest,
		SourceHwAddress:   mac,
		SourceProtAddress: a[:],
		DstHwAddress:      make([]byte, 6),
		DstProtAddress:    a[:],
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp); err != nil {
		return nil, fmt.Errorf("packets: gratuitous ARP for %s: %w", ip, err)
	}
	return buf.Bytes(), nil
}

// UnsolicitedNA returns the Ethernet frame of an unsolicited Neighbor
// Advertisement (RFC 4861 §7.2.6, what `ndsend` sends) to all nodes, from
// mac and the link-local address src, saying that target is at mac with
// the override flag set, so that neighbours replace a stale entry. An
// invalid src is replaced by the EUI-64 link-local address of mac.
func UnsolicitedNA(mac net.HardwareAddr, src, target netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("packets: unsolicited NA needs a 48-bit MAC, got %q: %w", mac, errInvalidParams)
	}
	if !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("packets: unsolicited NA for %s, want an IPv6 address: %w", target, errInvalidParams)
	}
	if !src.IsValid() {
		src = announceLinkLocal(mac)
	}
	if !src.Is6() {
		return nil, fmt.Errorf("packets: unsolicited NA from %s, want an IPv6 address: %w", src, errInvalidParams)
	}
	allNodes := netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, src, allNodes)
	if err != nil {
		return nil, fmt.Errorf("packets: unsolicited NA for %s: %w", target, err)
	}
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv6}
	ip6 := &layers.IPv6{
		Version:    6,
		NextHeader: layers.IPProtocolICMPv6,
		// Receivers drop neighbour discovery that crossed a router.
		HopLimit: 255,
		SrcIP:    src.AsSlice(),
		DstIP:    allNodes.AsSlice(),
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, ip6, gopacket.Payload(icmp)); err != nil {
		return nil, fmt.Errorf("packets: unsolicited NA for %s: %w", target, err)
	}
	return buf.Bytes(), nil
}

// announceLinkLocal returns fe80::/64 with the modified EUI-64 interface
// identifier of the 48-bit mac.
func announceLinkLocal(mac net.HardwareAddr) netip.Addr {
	a := [16]byte{0: 0xfe, 1: 0x80}
	a[8] = mac[0] ^ 0x02
	a[9], a[10] = mac[1], mac[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(a)
}
