package packets_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// dhcpv4FixtureDir holds the requests captured from real clients.
const dhcpv4FixtureDir = "../fixtures/dhcpv4"

// readDHCPv4Fixture returns the bytes of a captured request.
func readDHCPv4Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dhcpv4FixtureDir, name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// dhcpv4FixtureNames lists the captured requests.
func dhcpv4FixtureNames(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dhcpv4FixtureDir, "*.bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no DHCPv4 fixtures in %s (err %v)", dhcpv4FixtureDir, err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

// A replySummary is what a test checks of a reply frame, in readable form.
type replySummary struct {
	EthSrc, EthDst   string
	IPSrc, IPDst     string
	TTL              uint8
	SrcPort, DstPort uint16
	Type             string
	XID              string
	Broadcast        bool
	CIAddr, YIAddr   string
	Options          map[uint8]string
}

// summarizeReply decodes frame with gopacket (an implementation
// independent of the one under test), checks that its lengths and
// checksums are what gopacket itself would serialise, and returns its
// summary.
func summarizeReply(t testing.TB, frame []byte) replySummary {
	t.Helper()
	var (
		eth     layers.Ethernet
		ip      layers.IPv4
		udp     layers.UDP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip, &udp, &payload)
	parser.IgnoreUnsupported = true
	var decoded []gopacket.LayerType
	if err := parser.DecodeLayers(frame, &decoded); err != nil {
		t.Fatalf("gopacket cannot decode the reply frame: %v", err)
	}
	if !slices.Contains(decoded, layers.LayerTypeUDP) {
		t.Fatalf("reply frame has layers %v, want Ethernet/IPv4/UDP", decoded)
	}
	// gopacket chains UDP port 67/68 on to its own DHCPv4 layer, which
	// DecodingLayerParser does not know here: the UDP payload is the DHCP
	// message.
	dhcp := udp.Payload
	checkSerialisation(t, frame, &eth, &ip, &udp, dhcp)

	msg, err := dhcpv4.FromBytes(dhcp)
	if err != nil {
		t.Fatalf("reply DHCP message does not decode: %v", err)
	}
	s := replySummary{
		EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(),
		IPSrc: ip.SrcIP.String(), IPDst: ip.DstIP.String(), TTL: ip.TTL,
		SrcPort: uint16(udp.SrcPort), DstPort: uint16(udp.DstPort),
		Type: msg.MessageType().String(), XID: msg.TransactionID.String(),
		Broadcast: msg.IsBroadcast(),
		CIAddr:    msg.ClientIPAddr.String(), YIAddr: msg.YourIPAddr.String(),
		Options: map[uint8]string{},
	}
	if msg.OpCode != dhcpv4.OpcodeBootReply {
		t.Errorf("reply op = %v, want BootReply", msg.OpCode)
	}
	for code, v := range msg.Options {
		s.Options[code] = formatDHCPv4Option(code, v)
	}
	return s
}

// checkSerialisation rebuilds the frame with gopacket's serialiser from
// the decoded headers and compares it to frame byte for byte, which checks
// the lengths and both checksums.
func checkSerialisation(t testing.TB, frame []byte, eth *layers.Ethernet, ip *layers.IPv4, udp *layers.UDP, dhcp []byte) {
	t.Helper()
	eth2 := &layers.Ethernet{SrcMAC: eth.SrcMAC, DstMAC: eth.DstMAC, EthernetType: eth.EthernetType}
	ip2 := &layers.IPv4{Version: 4, IHL: 5, TTL: ip.TTL, Protocol: layers.IPProtocolUDP, SrcIP: ip.SrcIP, DstIP: ip.DstIP}
	udp2 := &layers.UDP{SrcPort: udp.SrcPort, DstPort: udp.DstPort}
	if err := udp2.SetNetworkLayerForChecksum(ip2); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth2, ip2, udp2, gopacket.Payload(dhcp)); err != nil {
		t.Fatalf("gopacket serialisation: %v", err)
	}
	if want := buf.Bytes(); !bytes.Equal(want, frame) {
		t.Errorf("frame differs from gopacket's serialisation of the same headers:\n got  %x\n want %x", frame, want)
	}
}

// formatDHCPv4Option renders the value of an option the way a test reads
// it: addresses dotted, times in seconds, texts as text, anything else hex.
func formatDHCPv4Option(code uint8, v []byte) string {
	switch code {
	case 1, 3, 6, 28, 54:
		var ips []string
		for ; len(v) >= 4; v = v[4:] {
			ips = append(ips, net.IP(v[:4]).String())
		}
		return strings.Join(ips, ",")
	case 51, 58, 59:
		if len(v) == 4 {
			return fmt.Sprint(time.Duration(binary.BigEndian.Uint32(v)) * time.Second)
		}
	case 12, 15, 56:
		return string(v)
	case 26:
		if len(v) == 2 {
			return fmt.Sprint(binary.BigEndian.Uint16(v))
		}
	case 53:
		if len(v) == 1 {
			return dhcpv4.MessageType(v[0]).String()
		}
	}
	return fmt.Sprintf("%x", v)
}
