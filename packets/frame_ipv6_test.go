package packets_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// v6FixtureDir holds the captured requests and golden frames.
const v6FixtureDir = "../fixtures/ipv6"

// The addresses of the capture: the VM's MAC and link-local address, and
// the prefix; the router MAC is INDEV's in every test.
var (
	v6VMMAC     = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	v6VMLL      = netip.MustParseAddr("fe80::5054:ff:fe12:3456")
	v6VMEUI64   = netip.MustParseAddr("2001:db8:1:0:5054:ff:fe12:3456")
	v6Prefix    = netip.MustParsePrefix("2001:db8:1::/64")
	v6RouterMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	v6RouterLL  = netip.MustParseAddr("fe80::ff:fe00:1")
)

func v6ReadFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(v6FixtureDir, name))
	if err != nil {
		tb.Fatalf("reading fixture: %v", err)
	}
	return b
}

// A v6Decoded is a reply frame taken apart with gopacket, independently of
// the code under test.
type v6Decoded struct {
	Eth     layers.Ethernet
	IP      layers.IPv6
	UDP     *layers.UDP // nil for ICMPv6
	Payload []byte      // the ICMPv6 message, or the UDP payload
}

// v6DecodeFrame parses frame and checks what every reply must satisfy:
// Ethernet type, IPv6 lengths, and the ICMPv6 or UDP checksum.
func v6DecodeFrame(t *testing.T, frame []byte) v6Decoded {
	t.Helper()
	var d v6Decoded
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		t.Fatalf("frame does not decode: %v", el.Error())
	}
	eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok || eth.EthernetType != layers.EthernetTypeIPv6 {
		t.Fatalf("frame is not Ethernet carrying IPv6: %v", pkt)
	}
	d.Eth = *eth
	ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if !ok {
		t.Fatalf("frame carries no IPv6: %v", pkt)
	}
	d.IP = *ip
	if int(ip.Length) != len(ip.Payload) {
		t.Fatalf("IPv6 payload length %d, %d bytes follow", ip.Length, len(ip.Payload))
	}
	switch ip.NextHeader {
	case layers.IPProtocolICMPv6:
		d.Payload = ip.Payload
	case layers.IPProtocolUDP:
		u := ip.Payload
		if len(u) < 8 || int(binary.BigEndian.Uint16(u[4:6])) != len(u) {
			t.Fatalf("UDP length field does not match %d bytes", len(u))
		}
		d.UDP = &layers.UDP{SrcPort: layers.UDPPort(binary.BigEndian.Uint16(u[0:2])), DstPort: layers.UDPPort(binary.BigEndian.Uint16(u[2:4]))}
		d.Payload = u[8:]
	default:
		t.Fatalf("IPv6 next header %v", ip.NextHeader)
	}
	if sum := v6PseudoSum(ip); sum != 0xffff {
		t.Fatalf("upper-layer checksum does not verify (sum %#04x)", sum)
	}
	return d
}

// v6PseudoSum returns the one's-complement sum of the IPv6 pseudo-header
// and the upper-layer packet, checksum field included: 0xffff when the
// checksum is right.
func v6PseudoSum(ip *layers.IPv6) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP)
	add(ip.DstIP)
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(ip.Payload)))
	l[7] = byte(ip.NextHeader)
	add(l[:])
	add(ip.Payload)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// v6Addr converts a gopacket address for comparisons.
func v6Addr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}

// v6ErrClass names the sentinel class of err, so that tables can say
// which kind of refusal they expect: "" for no error.
func v6ErrClass(err error) string {
	switch {
	case err == nil:
		return ""
	case packets.IsMalformed(err):
		return "malformed"
	case packets.IsUnsupported(err):
		return "unsupported"
	case packets.IsDHCPv6NoReply(err):
		return "noreply"
	case strings.Contains(err.Error(), "invalid reply parameters"):
		return "invalid"
	}
	return "unclassified: " + err.Error()
}
