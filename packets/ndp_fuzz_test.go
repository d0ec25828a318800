package packets_test

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// v6BuildPacket returns an IPv6 packet with the given header fields around
// payload, independently of the code under test.
func v6BuildPacket(src, dst netip.Addr, hopLimit, next uint8, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
	b[6], b[7] = next, hopLimit
	copy(b[8:24], src.AsSlice())
	copy(b[24:40], dst.AsSlice())
	return append(b, payload...)
}

// v6FuzzSeeds adds the captured packets matching pattern to the corpus.
func v6FuzzSeeds(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join(v6FixtureDir, pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures match %s: %v", pattern, err)
	}
	for _, n := range names {
		f.Add(v6ReadFixture(f, filepath.Base(n)))
	}
}

var v6AddrComparer = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func FuzzDecodeRS(f *testing.F) {
	v6FuzzSeeds(f, "*-rs.bin")
	f.Fuzz(func(t *testing.T, in []byte) {
		rs, err := packets.DecodeRS(in)
		if err != nil {
			if !packets.IsMalformed(err) && !packets.IsUnsupported(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Round trip: the same solicitation made afresh decodes the same.
		msg := &ndp.RouterSolicitation{}
		if rs.SourceLL != nil {
			msg.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: rs.SourceLL}}
		}
		dst := netip.MustParseAddr("ff02::2")
		body, err := ndp.MarshalMessageChecksum(msg, rs.Src, dst)
		if err != nil {
			t.Fatalf("re-marshalling %+v: %v", rs, err)
		}
		again, err := packets.DecodeRS(v6BuildPacket(rs.Src, dst, 255, 58, body))
		if err != nil {
			t.Fatalf("decoding the rebuilt solicitation: %v", err)
		}
		if diff := cmp.Diff(rs, again, v6AddrComparer); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// The answer to it builds and parses back.
		p := v6GoldenRA()
		if !rs.Src.IsUnspecified() {
			p.Dst, p.DstMAC = rs.Src, v6VMMAC
		}
		frame, err := packets.BuildRA(p)
		if err != nil {
			t.Fatalf("BuildRA for %+v: %v", rs, err)
		}
		if _, err := ndp.ParseMessage(frame[14+40:]); err != nil {
			t.Fatalf("advertisement does not parse: %v", err)
		}
	})
}

func FuzzDecodeNS(f *testing.F) {
	v6FuzzSeeds(f, "*-ns*.bin")
	f.Fuzz(func(t *testing.T, in []byte) {
		ns, err := packets.DecodeNS(in)
		if err != nil {
			if !packets.IsMalformed(err) && !packets.IsUnsupported(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		msg := &ndp.NeighborSolicitation{TargetAddress: ns.Target}
		if ns.SourceLL != nil {
			msg.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ns.SourceLL}}
		}
		body, err := ndp.MarshalMessageChecksum(msg, ns.Src, ns.Dst)
		if err != nil {
			t.Fatalf("re-marshalling %+v: %v", ns, err)
		}
		again, err := packets.DecodeNS(v6BuildPacket(ns.Src, ns.Dst, 255, 58, body))
		if err != nil {
			t.Fatalf("decoding the rebuilt solicitation: %v", err)
		}
		if diff := cmp.Diff(ns, again, v6AddrComparer); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		p := packets.NAParams{RouterMAC: v6RouterMAC, Target: ns.Target, Router: true}
		if !ns.IsDAD() {
			p.Dst, p.DstMAC = ns.Src, v6VMMAC
		}
		frame, err := packets.BuildNA(p)
		if err != nil {
			t.Fatalf("BuildNA for %+v: %v", ns, err)
		}
		m, err := ndp.ParseMessage(frame[14+40:])
		if err != nil {
			t.Fatalf("advertisement does not parse: %v", err)
		}
		if na, ok := m.(*ndp.NeighborAdvertisement); !ok || na.TargetAddress != ns.Target {
			t.Fatalf("advertisement %+v does not answer for %s", m, ns.Target)
		}
	})
}
