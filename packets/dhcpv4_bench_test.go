package packets_test

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// benchmarkDHCPv4 measures the whole packet path of one request as the
// DHCPv4 queue runs it: parsing the captured datagram and building the
// reply frame into a reused buffer.
func benchmarkDHCPv4(b *testing.B, fixture string, typ dhcpv4.MessageType) {
	benchmarkDHCPv4Lease(b, fixture, typ, testLease())
}

// benchmarkDHCPv4Lease is benchmarkDHCPv4 with the given lease.
func benchmarkDHCPv4Lease(b *testing.B, fixture string, typ dhcpv4.MessageType, lease *packets.DHCPv4Lease) {
	packet := readDHCPv4Fixture(b, fixture)
	buf := make([]byte, 0, 1514)
	var req packets.DHCPv4Request
	b.ReportAllocs()
	b.SetBytes(int64(len(packet)))
	for b.Loop() {
		if err := packets.ParseDHCPv4(packet, &req); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = req.AppendReply(buf[:0], typ, lease); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkDHCPv4Library is benchmarkDHCPv4 through the library's message:
// DecodeDHCPv4 and AppendDHCPv4Reply, the general path tests and tools use.
func benchmarkDHCPv4Library(b *testing.B, fixture string, typ dhcpv4.MessageType) {
	packet := readDHCPv4Fixture(b, fixture)
	lease := testLease()
	buf := make([]byte, 0, 1514)
	b.ReportAllocs()
	b.SetBytes(int64(len(packet)))
	for b.Loop() {
		req, err := packets.DecodeDHCPv4(packet)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = packets.AppendDHCPv4Reply(buf[:0], req, typ, lease); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDHCPv4DiscoverLibrary(b *testing.B) {
	benchmarkDHCPv4Library(b, "dhcpcd-discover.bin", dhcpv4.MessageTypeOffer)
}

func BenchmarkDHCPv4Discover(b *testing.B) {
	benchmarkDHCPv4(b, "dhcpcd-discover.bin", dhcpv4.MessageTypeOffer)
}

func BenchmarkDHCPv4Request(b *testing.B) {
	benchmarkDHCPv4(b, "dhcpcd-request.bin", dhcpv4.MessageTypeAck)
}

// BenchmarkDHCPv4DiscoverProfile is BenchmarkDHCPv4Discover for a binding
// whose profile uses every key (issue 12).
func BenchmarkDHCPv4DiscoverProfile(b *testing.B) {
	benchmarkDHCPv4Lease(b, "dhcpcd-discover.bin", dhcpv4.MessageTypeOffer, profileLease())
}
