package packets_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// v6Mutate returns a copy of b changed by f.
func v6Mutate(b []byte, f func([]byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

// v6WithExtHeader inserts an extension header of type ext (8 bytes, PadN
// inside) between the IPv6 header and the payload.
func v6WithExtHeader(b []byte, ext byte) []byte {
	out := append([]byte(nil), b[:40]...)
	next := out[6]
	out[6] = ext
	binary.BigEndian.PutUint16(out[4:6], binary.BigEndian.Uint16(b[4:6])+8)
	out = append(out, next, 0, 1, 4, 0, 0, 0, 0)
	return append(out, b[40:]...)
}

func TestDecodeRS(t *testing.T) {
	rdisc6 := v6ReadFixture(t, "rdisc6-rs.bin")
	dhcpcd := v6ReadFixture(t, "dhcpcd-rs.bin")
	tests := []struct {
		name    string
		in      []byte
		want    packets.RS
		wantErr string
	}{
		{name: "rdisc6", in: rdisc6, want: packets.RS{Src: v6VMLL}},
		{name: "dhcpcd with source link-layer option", in: dhcpcd, want: packets.RS{Src: v6VMLL, SourceLL: v6VMMAC}},
		{name: "trailing link-layer padding", in: append(append([]byte(nil), dhcpcd...), 0, 0, 0, 0), want: packets.RS{Src: v6VMLL, SourceLL: v6VMMAC}},
		{name: "hop-by-hop header", in: v6WithExtHeader(dhcpcd, 0), want: packets.RS{Src: v6VMLL, SourceLL: v6VMMAC}},
		{name: "destination options header", in: v6WithExtHeader(dhcpcd, 60), want: packets.RS{Src: v6VMLL, SourceLL: v6VMMAC}},
		{name: "fragment header", in: v6WithExtHeader(dhcpcd, 44), wantErr: "unsupported"},
		{name: "empty", in: nil, wantErr: "malformed"},
		{name: "truncated IPv6 header", in: rdisc6[:39], wantErr: "malformed"},
		{name: "truncated ICMPv6", in: v6Mutate(rdisc6, func(b []byte) []byte { b[5] = 4; return b[:44] }), wantErr: "malformed"},
		{name: "payload length past the end", in: v6Mutate(rdisc6, func(b []byte) []byte { b[5]++; return b }), wantErr: "malformed"},
		{name: "IPv4", in: v6Mutate(rdisc6, func(b []byte) []byte { b[0] = 0x45; return b }), wantErr: "malformed"},
		{name: "hop limit 254", in: v6Mutate(rdisc6, func(b []byte) []byte { b[7] = 254; return b }), wantErr: "malformed"},
		{name: "code 1", in: v6Mutate(rdisc6, func(b []byte) []byte { b[41] = 1; return b }), wantErr: "malformed"},
		{name: "UDP", in: v6Mutate(rdisc6, func(b []byte) []byte { b[6] = 17; return b }), wantErr: "malformed"},
		{name: "neighbor solicitation", in: v6ReadFixture(t, "ndisc6-ns.bin"), wantErr: "malformed"},
		{name: "option of length 0", in: v6Mutate(dhcpcd, func(b []byte) []byte { b[49] = 0; return b }), wantErr: "malformed"},
		{name: "option past the end", in: v6Mutate(dhcpcd, func(b []byte) []byte { b[49] = 2; return b }), wantErr: "malformed"},
		{name: "link-layer option of 16 bytes", in: v6Mutate(dhcpcd, func(b []byte) []byte {
			b[5] += 8
			b[49] = 2
			return append(b, make([]byte, 8)...)
		}), wantErr: "unsupported"},
		{name: "source link-layer option from ::", in: v6Mutate(dhcpcd, func(b []byte) []byte { clear(b[8:24]); return b }), wantErr: "malformed"},
		{name: "multicast source", in: v6Mutate(rdisc6, func(b []byte) []byte { b[8] = 0xff; return b }), wantErr: "malformed"},
		{name: "from :: without option", in: v6Mutate(rdisc6, func(b []byte) []byte { clear(b[8:24]); return b }), want: packets.RS{Src: netip.IPv6Unspecified()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := packets.DecodeRS(tt.in)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("DecodeRS (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeNS(t *testing.T) {
	ndisc6 := v6ReadFixture(t, "ndisc6-ns.bin")
	dad := v6ReadFixture(t, "kernel-ns-dad.bin")
	tests := []struct {
		name    string
		in      []byte
		want    packets.NS
		wantErr string
	}{
		{name: "ndisc6", in: ndisc6, want: packets.NS{
			Src: v6VMLL, Dst: netip.MustParseAddr("ff02::1:ff00:1"),
			Target: netip.MustParseAddr("2001:db8:1::1"), SourceLL: v6VMMAC,
		}},
		{name: "dhcpcd", in: v6ReadFixture(t, "dhcpcd-ns.bin"), want: packets.NS{
			Src: v6VMLL, Dst: v6RouterLL, Target: v6RouterLL, SourceLL: v6VMMAC,
		}},
		{name: "kernel DAD", in: dad, want: packets.NS{
			Src: netip.IPv6Unspecified(), Dst: netip.MustParseAddr("ff02::1:ff12:3456"), Target: v6VMEUI64,
		}},
		{name: "dhcpcd DAD of leased address", in: v6ReadFixture(t, "dhcpcd-ns-dad.bin"), want: packets.NS{
			Src: netip.IPv6Unspecified(), Dst: netip.MustParseAddr("ff02::1:ff00:146"), Target: netip.MustParseAddr("2001:db8:1::146"),
		}},
		{name: "hop-by-hop header", in: v6WithExtHeader(ndisc6, 0), want: packets.NS{
			Src: v6VMLL, Dst: netip.MustParseAddr("ff02::1:ff00:1"),
			Target: netip.MustParseAddr("2001:db8:1::1"), SourceLL: v6VMMAC,
		}},
		{name: "two hop-by-hop headers", in: v6WithExtHeader(v6WithExtHeader(ndisc6, 0), 0), wantErr: "malformed"},
		{name: "five extension headers", in: v6WithExtHeader(v6WithExtHeader(v6WithExtHeader(v6WithExtHeader(v6WithExtHeader(ndisc6, 60), 60), 60), 60), 60), wantErr: "unsupported"},
		{name: "router solicitation", in: v6ReadFixture(t, "rdisc6-rs.bin"), wantErr: "malformed"},
		{name: "truncated target", in: v6Mutate(ndisc6, func(b []byte) []byte { b[5] = 20; return b[:60] }), wantErr: "malformed"},
		{name: "hop limit 64", in: v6Mutate(ndisc6, func(b []byte) []byte { b[7] = 64; return b }), wantErr: "malformed"},
		{name: "IPv4-mapped source (fuzz 2caf79987ae3cb48)", in: v6Mutate(ndisc6, func(b []byte) []byte {
			copy(b[8:24], netip.MustParseAddr("::ffff:48.48.48.48").AsSlice())
			return b
		}), wantErr: "malformed"},
		{name: "IPv4-mapped target", in: v6Mutate(ndisc6, func(b []byte) []byte {
			copy(b[48:64], netip.MustParseAddr("::ffff:192.0.2.1").AsSlice())
			return b
		}), wantErr: "malformed"},
		{name: "unspecified target", in: v6Mutate(ndisc6, func(b []byte) []byte { clear(b[48:64]); return b }), wantErr: "malformed"},
		{name: "multicast target", in: v6Mutate(ndisc6, func(b []byte) []byte { b[48] = 0xff; return b }), wantErr: "malformed"},
		{name: "DAD to a unicast address", in: v6Mutate(dad, func(b []byte) []byte { copy(b[24:40], v6VMEUI64.AsSlice()); return b }), wantErr: "malformed"},
		{name: "DAD with source link-layer option", in: v6Mutate(ndisc6, func(b []byte) []byte {
			clear(b[8:24])
			copy(b[24:40], netip.MustParseAddr("ff02::1:ff00:1").AsSlice())
			return b
		}), wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := packets.DecodeNS(tt.in)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("DecodeNS (-want +got):\n%s", diff)
			}
			if got.IsDAD() != (tt.wantErr == "" && tt.want.Src.IsUnspecified()) {
				t.Errorf("IsDAD() = %v", got.IsDAD())
			}
		})
	}
}

// v6NDCompare compares ND messages, addresses by value.
var v6NDCompare = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b *ndp.MTU) bool { return *a == *b }),
}

func TestBuildRA(t *testing.T) {
	full := packets.RAParams{
		RouterMAC:         v6RouterMAC,
		Dst:               v6VMLL,
		DstMAC:            v6VMMAC,
		Managed:           true,
		Other:             true,
		RouterLifetime:    900 * time.Second,
		Prefix:            netip.MustParsePrefix("2001:db8:1::5/64"), // masked by BuildRA
		Autonomous:        false,
		ValidLifetime:     86400 * time.Second,
		PreferredLifetime: 14400*time.Second + 999*time.Millisecond,
		DNS:               []netip.Addr{netip.MustParseAddr("2001:db8::53")},
		Domains:           []string{"example.org", "vm.example.org"},
		DNSLifetime:       900 * time.Second,
		MTU:               1450,
	}
	tests := []struct {
		name       string
		in         packets.RAParams
		wantDst    netip.Addr
		wantDstMAC net.HardwareAddr
		want       *ndp.RouterAdvertisement
		wantErr    string
	}{
		{
			name: "unicast with every option", in: full, wantDst: v6VMLL, wantDstMAC: v6VMMAC,
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit: 64, ManagedConfiguration: true, OtherConfiguration: true, RouterLifetime: 900 * time.Second,
				Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: v6RouterMAC},
					ndp.NewMTU(1450),
					&ndp.PrefixInformation{PrefixLength: 64, OnLink: true, ValidLifetime: 86400 * time.Second, PreferredLifetime: 14400 * time.Second, Prefix: v6Prefix.Addr()},
					&ndp.RecursiveDNSServer{Lifetime: 900 * time.Second, Servers: []netip.Addr{netip.MustParseAddr("2001:db8::53")}},
					&ndp.DNSSearchList{Lifetime: 900 * time.Second, DomainNames: []string{"example.org", "vm.example.org"}},
				},
			},
		},
		{
			name:    "multicast, SLAAC, private",
			in:      packets.RAParams{RouterMAC: v6RouterMAC, Prefix: v6Prefix, Autonomous: true, ValidLifetime: time.Hour, PreferredLifetime: time.Minute},
			wantDst: netip.MustParseAddr("ff02::1"), wantDstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1},
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit: 64,
				Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: v6RouterMAC},
					&ndp.PrefixInformation{PrefixLength: 64, OnLink: true, AutonomousAddressConfiguration: true, ValidLifetime: time.Hour, PreferredLifetime: time.Minute, Prefix: v6Prefix.Addr()},
				},
			},
		},
		{name: "no router MAC", in: packets.RAParams{Prefix: v6Prefix}, wantErr: "invalid"},
		{name: "unicast without MAC", in: packets.RAParams{RouterMAC: v6RouterMAC, Dst: v6VMLL}, wantErr: "invalid"},
		{name: "IPv4 prefix", in: packets.RAParams{RouterMAC: v6RouterMAC, Prefix: netip.MustParsePrefix("192.0.2.0/24")}, wantErr: "invalid"},
		{name: "IPv4 DNS server", in: packets.RAParams{RouterMAC: v6RouterMAC, DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}, DNSLifetime: time.Hour}, wantErr: "invalid"},
		{name: "negative MTU", in: packets.RAParams{RouterMAC: v6RouterMAC, MTU: -1}, wantErr: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := packets.BuildRA(tt.in)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			d := v6DecodeFrame(t, frame)
			v6CheckNDHeaders(t, d, v6RouterLL, tt.wantDstMAC, tt.wantDst)
			got, err := ndp.ParseMessage(d.Payload)
			if err != nil {
				t.Fatalf("ndp.ParseMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, v6NDCompare); diff != "" {
				t.Errorf("router advertisement (-want +got):\n%s", diff)
			}
		})
	}
}

// v6CheckNDHeaders checks the headers every ND reply shares: from INDEV's
// MAC and the given source, hop limit 255.
func v6CheckNDHeaders(t *testing.T, d v6Decoded, src netip.Addr, dstMAC net.HardwareAddr, dst netip.Addr) {
	t.Helper()
	type headers struct {
		SrcMAC, DstMAC string
		Src, Dst       netip.Addr
		HopLimit       uint8
		Next           layers.IPProtocol
	}
	want := headers{v6RouterMAC.String(), dstMAC.String(), src, dst, 255, layers.IPProtocolICMPv6}
	got := headers{d.Eth.SrcMAC.String(), d.Eth.DstMAC.String(), v6Addr(d.IP.SrcIP), v6Addr(d.IP.DstIP), d.IP.HopLimit, d.IP.NextHeader}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestBuildNA(t *testing.T) {
	gw := netip.MustParseAddr("2001:db8:1::1")
	tests := []struct {
		name       string
		in         packets.NAParams
		wantDst    netip.Addr
		wantDstMAC net.HardwareAddr
		want       *ndp.NeighborAdvertisement
		wantErr    string
	}{
		{
			name:    "solicited",
			in:      packets.NAParams{RouterMAC: v6RouterMAC, Dst: v6VMLL, DstMAC: v6VMMAC, Target: gw, Router: true},
			wantDst: v6VMLL, wantDstMAC: v6VMMAC,
			want: &ndp.NeighborAdvertisement{Router: true, Solicited: true, Override: true, TargetAddress: gw,
				Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: v6RouterMAC}}},
		},
		{
			name:    "answer to a DAD probe",
			in:      packets.NAParams{RouterMAC: v6RouterMAC, Dst: netip.IPv6Unspecified(), Target: gw},
			wantDst: netip.MustParseAddr("ff02::1"), wantDstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1},
			want: &ndp.NeighborAdvertisement{Override: true, TargetAddress: gw,
				Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: v6RouterMAC}}},
		},
		{name: "no target", in: packets.NAParams{RouterMAC: v6RouterMAC, Dst: v6VMLL, DstMAC: v6VMMAC}, wantErr: "invalid"},
		{name: "short MAC", in: packets.NAParams{RouterMAC: v6RouterMAC[:4], Target: gw}, wantErr: "invalid"},
		{name: "multicast target", in: packets.NAParams{RouterMAC: v6RouterMAC, Target: netip.MustParseAddr("ff02::1")}, wantErr: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := packets.BuildNA(tt.in)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			d := v6DecodeFrame(t, frame)
			v6CheckNDHeaders(t, d, tt.in.Target, tt.wantDstMAC, tt.wantDst)
			got, err := ndp.ParseMessage(d.Payload)
			if err != nil {
				t.Fatalf("ndp.ParseMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, v6NDCompare); diff != "" {
				t.Errorf("neighbor advertisement (-want +got):\n%s", diff)
			}
		})
	}
}
