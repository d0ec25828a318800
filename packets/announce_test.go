package packets_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

func TestGratuitousARP(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	frame, err := packets.GratuitousARP(mac, netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	type arpView struct {
		EthSrc, EthDst string
		Op             uint16
		SHA, THA       string
		SPA, TPA       string
	}
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, _ := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if eth == nil || arp == nil {
		t.Fatalf("frame does not decode as Ethernet+ARP: %v", pkt)
	}
	got := arpView{
		EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(), Op: arp.Operation,
		SHA: net.HardwareAddr(arp.SourceHwAddress).String(), THA: net.HardwareAddr(arp.DstHwAddress).String(),
		SPA: net.IP(arp.SourceProtAddress).String(), TPA: net.IP(arp.DstProtAddress).String(),
	}
	want := arpView{
		EthSrc: "52:54:00:12:34:56", EthDst: "ff:ff:ff:ff:ff:ff", Op: layers.ARPRequest,
		SHA: "52:54:00:12:34:56", THA: "00:00:00:00:00:00",
		SPA: "192.0.2.10", TPA: "192.0.2.10",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gratuitous ARP (-want +got):\n%s", diff)
	}
	if len(frame) < 42 {
		t.Errorf("frame of %d bytes, want at least 42", len(frame))
	}
}

func TestUnsolicitedNA(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	target := netip.MustParseAddr("2001:db8::5054:ff:fe12:3456")
	tests := []struct {
		name    string
		src     netip.Addr
		wantSrc string
	}{
		{"given source", netip.MustParseAddr("fe80::1"), "fe80::1"},
		{"derived source", netip.Addr{}, "fe80::5054:ff:fe12:3456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := packets.UnsolicitedNA(mac, tt.src, target)
			if err != nil {
				t.Fatal(err)
			}
			pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
			eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			ip6, _ := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if eth == nil || ip6 == nil {
				t.Fatalf("frame does not decode as Ethernet+IPv6: %v", pkt)
			}
			body := ip6.Payload
			msg, err := ndp.ParseMessage(body)
			if err != nil {
				t.Fatalf("ICMPv6 body: %v", err)
			}
			type naView struct {
				EthSrc, EthDst, Src, Dst string
				HopLimit                 uint8
				NA                       *ndp.NeighborAdvertisement
				ChecksumOK               bool
			}
			src, _ := netip.AddrFromSlice(ip6.SrcIP)
			dst, _ := netip.AddrFromSlice(ip6.DstIP)
			got := naView{
				EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(),
				Src: src.String(), Dst: dst.String(), HopLimit: ip6.HopLimit,
				NA:         msg.(*ndp.NeighborAdvertisement),
				ChecksumOK: icmpv6ChecksumOK(src, dst, body),
			}
			want := naView{
				EthSrc: "52:54:00:12:34:56", EthDst: "33:33:00:00:00:01",
				Src: tt.wantSrc, Dst: "ff02::1", HopLimit: 255,
				NA: &ndp.NeighborAdvertisement{
					Override: true, TargetAddress: target,
					Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
				},
				ChecksumOK: true,
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("unsolicited NA (-want +got):\n%s", diff)
			}
		})
	}
}

// icmpv6ChecksumOK verifies the ICMPv6 checksum over the IPv6 pseudo-header
// (RFC 8200 §8.1): the ones' complement sum of a correct message is 0xffff.
func icmpv6ChecksumOK(src, dst netip.Addr, body []byte) bool {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var lenNext [8]byte
	binary.BigEndian.PutUint32(lenNext[0:4], uint32(len(body)))
	lenNext[7] = 58
	add(lenNext[:])
	add(body)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

func TestAnnounceRefusesBadParameters(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	v4 := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8::10")
	tests := []struct {
		name string
		err  error
	}{
		{"ARP with IPv6", second(packets.GratuitousARP(mac, v6))},
		{"ARP with short MAC", second(packets.GratuitousARP(mac[:4], v4))},
		{"NA with IPv4 target", second(packets.UnsolicitedNA(mac, netip.Addr{}, v4))},
		{"NA with IPv4 source", second(packets.UnsolicitedNA(mac, v4, v6))},
		{"NA with no MAC", second(packets.UnsolicitedNA(nil, netip.Addr{}, v6))},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func second(_ []byte, err error) error { return err }
