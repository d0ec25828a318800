package bench_test

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// The VM of the captured fixtures: its MAC and IPv6 prefix are those the
// capture scripts used (fixtures/dhcpv4/README.md, fixtures/ipv6/README.md).
var (
	benchVMMAC  = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	benchTapMAC = net.HardwareAddr{0xfe, 0x54, 0x00, 0x12, 0x34, 0x56}
)

const benchTapIndex = 9

// fixedBindings is a binding table that never changes.
type fixedBindings struct{ s *binding.Snapshot }

func (b fixedBindings) Snapshot() *binding.Snapshot { return b.s }

// countingSender stands in for the AF_PACKET socket: it only counts the
// frames and their bytes, so that the benchmark measures the daemon's own
// work and not a recorder's copies.
type countingSender struct {
	frames atomic.Uint64
	bytes  atomic.Uint64
}

func (s *countingSender) Send(ifindex int, frame []byte) error {
	s.frames.Add(1)
	s.bytes.Add(uint64(len(frame)))
	return nil
}

// benchActive returns the bound VM of the fixtures, dual-stack, with a
// gateway on each side, among n-1 other bindings so that lookups happen in
// a table of realistic size.
func benchActive(tb testing.TB, n int) *binding.Snapshot {
	tb.Helper()
	prefix6 := netip.MustParsePrefix("2001:db8:1::/64")
	eui, err := binding.EUI64(benchVMMAC, prefix6)
	if err != nil {
		tb.Fatal(err)
	}
	// The VM's address is the one the captured REQUEST asks for, so that
	// it is ACKed rather than NAKed.
	req, err := packets.DecodeDHCPv4(readFixture(tb, "dhcpv4", "dhcpcd-request.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	ip, ok := netip.AddrFromSlice(req.RequestedIPAddress().To4())
	if !ok {
		tb.Fatal("bench: the REQUEST fixture names no address")
	}
	all := []*binding.Active{{
		Binding: binding.Binding{
			Name: "tap9", Indev: "tap9", MAC: benchVMMAC,
			IP:       ip,
			Hostname: "vm9.example.org",
			Subnet:   netip.MustParsePrefix("192.0.2.0/24"),
			Gateway:  netip.MustParseAddr("192.0.2.1"),
			Subnet6:  prefix6,
			Gateway6: netip.MustParseAddr("2001:db8:1::1"),
			EUI64:    eui,
			MTU:      1500,
		},
		TapIndex: benchTapIndex,
		IndevMAC: benchTapMAC,
	}}
	for i := 1; i < n; i++ {
		mac := net.HardwareAddr{0x52, 0x54, 0x01, byte(i >> 16), byte(i >> 8), byte(i)}
		all = append(all, &binding.Active{
			Binding: binding.Binding{
				Name: "other" + string(rune('a'+i%26)) + itoa(i), MAC: mac,
				IP:     netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}),
				Subnet: netip.MustParsePrefix("198.51.0.0/16"),
			},
			TapIndex: 1000 + i,
			IndevMAC: benchTapMAC,
		})
	}
	return binding.NewSnapshot(all)
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func benchOptions() responder.Options {
	return responder.Options{
		LeaseTime:    604800 * time.Second,
		RenewalTime:  600 * time.Second,
		ServerOnLink: true,
		Nameservers:  []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("192.0.2.54")},
		Domain:       "example.org",
		IPv6:         true,
		Mode:         responder.ModeSLAACDHCPv6,
		RAPeriod:     300 * time.Second,
		Nameservers6: []netip.Addr{netip.MustParseAddr("2001:db8::53")},
		Domains6:     []string{"example.org"},
	}
}

func readFixture(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", dir, name))
	if err != nil {
		tb.Fatalf("bench: fixture: %v", err)
	}
	return data
}

// benchmarkHandler measures the whole path of one queued packet through the
// responder: binding lookup, decode, policy, reply building and the call to
// the sender. It fails unless every packet was answered.
func benchmarkHandler(b *testing.B, kind responder.Kind, dir, fixture string) {
	payload := readFixture(b, dir, fixture)
	sender := &countingSender{}
	r := responder.New(fixedBindings{benchActive(b, 1000)}, sender, benchOptions(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	handle := r.Handler(kind)
	p := responder.Packet{InIndex: benchTapIndex, HwAddr: benchVMMAC}
	var n uint64
	began := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		// The queue hands every packet its own payload; the handler may
		// keep or modify it, so each iteration gets a fresh slice header
		// over the same bytes, as the queue does without a copy.
		p.Payload = payload
		if v := handle(&p); v != responder.Drop {
			b.Fatalf("bench: verdict %v, want drop", v)
		}
		n++
	}
	if got := r.Stats.Get(kind, responder.OutcomeAnswered); got != n {
		b.Fatalf("bench: %d of %d %s packets answered", got, n, kind)
	}
	// A DISCOVER or a DAD probe also brings a prompt RA, at most one every
	// 3 s (responder/ra_prompt.go).
	if f := sender.frames.Load(); f < n || f-n > uint64(time.Since(began)/(3*time.Second))+1 {
		b.Fatalf("bench: %d frames sent for %d packets", f, n)
	}
	b.ReportMetric(float64(sender.bytes.Load())/float64(n), "replyB/op")
}

func BenchmarkHandlerDHCPv4Discover(b *testing.B) {
	benchmarkHandler(b, responder.KindDHCPv4, "dhcpv4", "dhcpcd-discover.bin")
}

func BenchmarkHandlerDHCPv4Request(b *testing.B) {
	benchmarkHandler(b, responder.KindDHCPv4, "dhcpv4", "dhcpcd-request.bin")
}

func BenchmarkHandlerRS(b *testing.B) {
	benchmarkHandler(b, responder.KindRS, "ipv6", "dhcpcd-rs.bin")
}

func BenchmarkHandlerNS(b *testing.B) {
	benchmarkHandler(b, responder.KindNS, "ipv6", "ndisc6-ns.bin")
}

func BenchmarkHandlerInformationRequest(b *testing.B) {
	benchmarkHandler(b, responder.KindDHCPv6, "ipv6", "dhclient-information-request.bin")
}
