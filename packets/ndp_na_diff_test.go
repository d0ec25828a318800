package packets

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// naParamsFromBytes turns fuzz input into Neighbor Advertisement
// parameters: two MACs, a target, a destination of every kind (none, ::,
// unicast, multicast, IPv4, IPv4-mapped) and whether a destination MAC is
// given. Short input is padded with zeros, so every input is usable.
func naParamsFromBytes(data []byte) NAParams {
	var in [48]byte
	copy(in[:], data)
	p := NAParams{
		RouterMAC: net.HardwareAddr(bytes.Clone(in[0:6])),
		Target:    netip.AddrFrom16([16]byte(in[6:22])),
		Router:    in[44]&1 != 0,
	}
	dst := [16]byte(in[22:38])
	switch in[45] % 6 {
	case 0: // invalid: an unsolicited advertisement
	case 1:
		p.Dst = netip.IPv6Unspecified()
	case 2:
		p.Dst = netip.AddrFrom16(dst)
	case 3:
		dst[0] = 0xff
		p.Dst = netip.AddrFrom16(dst)
	case 4:
		p.Dst = netip.AddrFrom4([4]byte(dst[:4]))
	case 5:
		p.Dst = netip.AddrFrom16(netip.AddrFrom4([4]byte(dst[:4])).As16())
	}
	switch in[46] % 3 {
	case 0: // nil: the group MAC of a multicast destination
	case 1:
		p.DstMAC = net.HardwareAddr(bytes.Clone(in[38:44]))
	case 2:
		p.DstMAC = net.HardwareAddr(bytes.Clone(in[38:42])) // too short
	}
	if in[47]&1 != 0 {
		p.RouterMAC = p.RouterMAC[:5]
	}
	return p
}

// checkNASameAsLibrary fails unless AppendNA and the library path agree:
// both refuse p, or both build the same bytes. AppendNA also has to leave
// what b already held untouched.
func checkNASameAsLibrary(t *testing.T, p NAParams) {
	t.Helper()
	want, wantErr := buildNALibrary(p)
	prefix := []byte("prefix")
	got, gotErr := AppendNA(append(make([]byte, 0, 128), prefix...), p)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("AppendNA(%+v): error %v, library error %v", p, gotErr, wantErr)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("AppendNA(%+v) changed the bytes it appends to: % x", p, got)
	}
	if wantErr == nil && !bytes.Equal(want, got[len(prefix):]) {
		t.Fatalf("AppendNA(%+v):\n got % x\nwant % x", p, got[len(prefix):], want)
	}
}

func TestAppendNAMatchesLibrary(t *testing.T) {
	router := net.HardwareAddr{0xfe, 0x54, 0x00, 0x12, 0x34, 0x56}
	vm := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	gw := netip.MustParseAddr("2001:db8:1::1")
	for name, p := range map[string]NAParams{
		"solicited":        {RouterMAC: router, Dst: netip.MustParseAddr("fe80::5054:ff:fe12:3456"), DstMAC: vm, Target: gw, Router: true},
		"dad":              {RouterMAC: router, Dst: netip.IPv6Unspecified(), Target: gw, Router: true},
		"no destination":   {RouterMAC: router, Target: gw},
		"multicast":        {RouterMAC: router, Dst: netip.MustParseAddr("ff02::1:ff00:1"), Target: gw},
		"unicast, no MAC":  {RouterMAC: router, Dst: gw, Target: gw},
		"IPv4 target":      {RouterMAC: router, Target: netip.MustParseAddr("192.0.2.1")},
		"multicast target": {RouterMAC: router, Target: netip.MustParseAddr("ff02::1")},
		"short MAC":        {RouterMAC: router[:4], Target: gw},
	} {
		t.Run(name, func(t *testing.T) { checkNASameAsLibrary(t, p) })
	}
}

// FuzzAppendNA compares the hand-written advertisement with the one
// mdlayher/ndp and gopacket build, byte for byte, for random parameters.
func FuzzAppendNA(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 12))
	f.Add(append(bytes.Repeat([]byte{0x11}, 44), 1, 2, 1, 0))
	f.Add(append(bytes.Repeat([]byte{0xfe}, 44), 0, 3, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkNASameAsLibrary(t, naParamsFromBytes(data))
	})
}
