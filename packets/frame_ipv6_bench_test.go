package packets_test

import (
	"testing"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// The benchmarks measure one request's whole path through this package:
// decode the captured packet, build the reply frame.

func BenchmarkRS(b *testing.B) {
	in := v6ReadFixture(b, "dhcpcd-rs.bin")
	p := v6GoldenRA()
	b.ReportAllocs()
	for b.Loop() {
		rs, err := packets.DecodeRS(in)
		if err != nil {
			b.Fatal(err)
		}
		p.Dst, p.DstMAC = rs.Src, rs.SourceLL
		if _, err := packets.BuildRA(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNS(b *testing.B) {
	in := v6ReadFixture(b, "ndisc6-ns.bin")
	buf := make([]byte, 0, 1514)
	b.ReportAllocs()
	for b.Loop() {
		ns, err := packets.DecodeNS(in)
		if err != nil {
			b.Fatal(err)
		}
		p := packets.NAParams{RouterMAC: v6RouterMAC, Dst: ns.Src, DstMAC: ns.SourceLL, Target: ns.Target, Router: true}
		// The NS queue builds every advertisement into one reused buffer.
		if buf, err = packets.AppendNA(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInformationRequest(b *testing.B) {
	in := v6ReadFixture(b, "dhclient-information-request.bin")
	params := v6DHCPParams()
	b.ReportAllocs()
	for b.Loop() {
		req, err := packets.DecodeDHCPv6(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := packets.BuildDHCPv6Reply(req, params); err != nil {
			b.Fatal(err)
		}
	}
}
