package packets_test

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// benchmarkDHCPv4 measures the whole packet path of one request: decoding
// the captured datagram and building the reply frame into a reused buffer.
func benchmarkDHCPv4(b *testing.B, fixture string, typ dhcpv4.MessageType) {
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
		buf, err = packets.AppendDHCPv4Reply(buf[:0], req, typ, lease)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDHCPv4Discover(b *testing.B) {
	benchmarkDHCPv4(b, "dhcpcd-discover.bin", dhcpv4.MessageTypeOffer)
}

func BenchmarkDHCPv4Request(b *testing.B) {
	benchmarkDHCPv4(b, "dhcpcd-request.bin", dhcpv4.MessageTypeAck)
}
