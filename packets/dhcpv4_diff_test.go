package packets

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// dhcpv4DiffLeases are the leases every request is answered from in the
// differential test: one with every option, one that only fits a client
// once options are dropped, one whose values need several instances
// (RFC 3396), and one with a router on the link and no optional options.
func dhcpv4DiffLeases() map[string]*DHCPv4Lease {
	full := dhcpv4FuzzLease()
	many := *full
	many.Nameservers = nil
	for i := range 70 {
		many.Nameservers = append(many.Nameservers, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	many.Nameservers = append(many.Nameservers, netip.MustParseAddr("2001:db8::53"))
	many.Hostname = strings.Repeat("h", 300)
	long := *full
	long.Domain = strings.Repeat("d", 256)
	long.Subnet = netip.MustParsePrefix("192.0.2.0/24")
	onLink := &DHCPv4Lease{
		ServerMAC: full.ServerMAC,
		ServerIP:  netip.MustParseAddr("192.0.2.1"),
		ClientIP:  netip.MustParseAddr("192.0.2.10"),
		Subnet:    netip.MustParsePrefix("192.0.2.0/31"),
		Router:    netip.MustParseAddr("192.0.2.1"),
		LeaseTime: 200 * 365 * 24 * time.Hour, // beyond the 32-bit "infinite"
	}
	prof := dhcpv4ProfileLease()
	crowded := *prof
	crowded.Extra = nil
	for i := range profile.MaxOptions {
		code := byte(200 + i)
		crowded.Extra = append(crowded.Extra, profile.Option{Code: code, Data: bytes.Repeat([]byte{code}, 40)})
	}
	private := *prof
	private.Router = netip.Addr{}
	return map[string]*DHCPv4Lease{"full": full, "many": &many, "long": &long, "on-link": onLink,
		"profile": prof, "profile-crowded": &crowded, "profile-private": &private}
}

// dhcpv4ProfileLease is a lease that uses every option of a binding's
// profile, raw options replacing two of the daemon's own among them.
func dhcpv4ProfileLease() *DHCPv4Lease {
	l := dhcpv4FuzzLease()
	l.Subnet = netip.MustParsePrefix("192.0.2.0/24")
	l.Router = netip.MustParseAddr("192.0.2.1")
	l.NTP = []netip.Addr{netip.MustParseAddr("192.0.2.123"), netip.MustParseAddr("2001:db8::123")}
	l.DomainSearch = profile.EncodeSearch([]string{"tenant.example", "eng.tenant.example", "example.org"})
	l.Routes = []profile.Route{
		{Dest: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("192.0.2.1")},
		{Dest: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("192.0.2.254")},
		{Dest: netip.MustParsePrefix("172.16.0.0/12"), Via: netip.MustParseAddr("0.0.0.0")},
	}
	l.NextServer = netip.MustParseAddr("192.0.2.5")
	l.TFTPServer = "192.0.2.5"
	l.Bootfile = "pxelinux.0"
	l.IPv6OnlyWait = 1800 * time.Second
	l.Extra = []profile.Option{
		{Code: 252, Data: []byte("http://192.0.2.1/wpad.dat")},
		{Code: 15, Data: []byte("raw.example")},
		{Code: 23, Data: []byte{64}},
		{Code: 26, Data: []byte{0x05, 0xdc}},
	}
	return l
}

// dhcpv4CheckSameAsLibrary fails unless ParseDHCPv4 accepts exactly what
// DecodeDHCPv4 accepts, reading the same fields, and unless every reply
// AppendReply builds for it is byte for byte the library's.
func dhcpv4CheckSameAsLibrary(t *testing.T, packet []byte) {
	t.Helper()
	msg, wantErr := DecodeDHCPv4(packet)
	var req DHCPv4Request
	gotErr := ParseDHCPv4(packet, &req)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("ParseDHCPv4 error %v, DecodeDHCPv4 error %v", gotErr, wantErr)
	}
	if wantErr != nil {
		for _, sentinel := range []error{errMalformed, errUnsupported} {
			if errors.Is(wantErr, sentinel) != errors.Is(gotErr, sentinel) {
				t.Fatalf("ParseDHCPv4 error %q, DecodeDHCPv4 error %q: not the same kind", gotErr, wantErr)
			}
		}
		return
	}
	want := dhcpv4RequestFromMessage(msg)
	if uefi := slices.ContainsFunc(msg.ClientArch(), func(a iana.Arch) bool { return a == iana.EFI_X86_64 || a == iana.EFI_BC }); req.IsUEFI() != uefi {
		t.Fatalf("IsUEFI = %v, library's ClientArch %v", req.IsUEFI(), msg.ClientArch())
	}
	if ipxe := slices.Contains(msg.UserClass(), "iPXE"); req.IsIPXE() != ipxe {
		t.Fatalf("IsIPXE = %v, library's UserClass %q", req.IsIPXE(), msg.UserClass())
	}
	if diff := cmp.Diff(want, &req, cmp.AllowUnexported(DHCPv4Request{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("ParseDHCPv4 (-want +got):\n%s", diff)
	}
	for name, lease := range dhcpv4DiffLeases() {
		for _, typ := range []dhcpv4.MessageType{dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak} {
			wantFrame, wantErr := appendDHCPv4ReplyLibrary(nil, msg, typ, lease)
			prefix := []byte("kept")
			gotFrame, gotErr := req.AppendReply(append(make([]byte, 0, 64), prefix...), typ, lease)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%s to lease %s: AppendReply error %v, library error %v", typ, name, gotErr, wantErr)
			}
			if !bytes.HasPrefix(gotFrame, prefix) {
				t.Fatalf("%s to lease %s: AppendReply changed the bytes before its frame", typ, name)
			}
			if wantErr == nil && !bytes.Equal(wantFrame, gotFrame[len(prefix):]) {
				t.Fatalf("%s to lease %s:\n got % x\nwant % x", typ, name, gotFrame[len(prefix):], wantFrame)
			}
		}
	}
}

// dhcpv4DiffSeeds returns the captured requests and the hostile ones, as
// IPv4 datagrams.
func dhcpv4DiffSeeds(tb testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, glob := range []string{"../fixtures/dhcpv4/*.bin", "../fixtures/hostile/dhcpv4-*.frame"} {
		paths, err := filepath.Glob(glob)
		if err != nil || len(paths) == 0 {
			tb.Fatalf("no fixtures %s (err %v)", glob, err)
		}
		for _, path := range paths {
			b, err := os.ReadFile(path)
			if err != nil {
				tb.Fatal(err)
			}
			if strings.HasSuffix(path, ".frame") {
				b = b[v4EthernetHeaderLen:]
			}
			seeds[filepath.Base(path)] = b
		}
	}
	return seeds
}

// dhcpv4Wrap puts msg in the IPv4 and UDP headers of a request to the
// server, so that mutations of the message reach the option parser.
func dhcpv4Wrap(msg []byte) []byte {
	frame := appendV4UDPFrame(nil, &v4UDPFrame{
		srcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, dstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2},
		srcIP: netip.IPv4Unspecified(), dstIP: netip.AddrFrom4([4]byte{255, 255, 255, 255}),
		srcPort: dhcpv4ClientPort, dstPort: dhcpv4ServerPort,
	}, msg)
	return frame[v4EthernetHeaderLen:]
}

func TestParseDHCPv4MatchesLibrary(t *testing.T) {
	seeds := dhcpv4DiffSeeds(t)
	// Requests the captures do not cover: repeated and empty options, a
	// relay agent, a client identifier longer than one option, an INFORM
	// from a client with an address, a small and a large size limit.
	base, err := DecodeDHCPv4(seeds["dhcpcd-discover.bin"])
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(m []byte) []byte{
		"repeated PRL": func(m []byte) []byte {
			return dhcpv4WithOptions(m, []byte{55, 2, 1, 3, 55, 3, 6, 12, 15, 55, 0})
		},
		"empty PRL":      func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{55, 0}) },
		"relay agent":    func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{82, 6, 1, 4, 't', 'a', 'p', '0'}) },
		"long client id": func(m []byte) []byte { return dhcpv4WithOptions(m, dhcpv4LongOption(61, 300)) },
		"long relay and id": func(m []byte) []byte {
			return dhcpv4WithOptions(m, append(dhcpv4LongOption(61, 200), dhcpv4LongOption(82, 200)...))
		},
		"max size 1400":         func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{57, 2, 0x05, 0x78}) },
		"max size 9000":         func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{57, 2, 0x23, 0x28}) },
		"max size of 3 bytes":   func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{57, 3, 0x05, 0x78, 0}) },
		"requested IP repeated": func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{50, 2, 192, 0, 50, 2, 2, 10}) },
		"type repeated":         func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{53, 1, 3}) },
		"inform with ciaddr": func(m []byte) []byte {
			m = dhcpv4WithOptions(m, []byte{53, 1, 8})
			copy(m[dhcpv4OffCIAddr:], []byte{192, 0, 2, 10})
			return m
		},
		"broadcast flag": func(m []byte) []byte {
			m[dhcpv4OffFlags] = 0x80
			return m
		},
		"giaddr": func(m []byte) []byte {
			copy(m[dhcpv4OffGIAddr:], []byte{198, 51, 100, 7})
			return m
		},
		"no end option": func(m []byte) []byte { return m[:len(m)-1] },
		"asks for every profile option": func(m []byte) []byte {
			return dhcpv4WithOptions(m, []byte{55, 12, 1, 3, 6, 12, 15, 26, 42, 66, 67, 108, 119, 121})
		},
		"asks for 108 only": func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{55, 1, 108}) },
		"PXE UEFI":          func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{93, 2, 0, 7, 55, 3, 66, 67, 1}) },
		"PXE BIOS":          func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{93, 2, 0, 0}) },
		"PXE odd arch":      func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{93, 3, 0, 9, 0}) },
		"iPXE raw":          func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{77, 4, 'i', 'P', 'X', 'E'}) },
		"iPXE RFC 3004": func(m []byte) []byte {
			return dhcpv4WithOptions(m, []byte{77, 9, 3, 'f', 'o', 'o', 4, 'i', 'P', 'X', 'E'})
		},
		"user class bad": func(m []byte) []byte { return dhcpv4WithOptions(m, []byte{77, 3, 5, 'i', 'P'}) },
	} {
		seeds[name] = dhcpv4Wrap(edit(base.ToBytes()))
	}
	for name, packet := range seeds {
		t.Run(name, func(t *testing.T) { dhcpv4CheckSameAsLibrary(t, packet) })
	}
}

// dhcpv4WithOptions returns the message m with its end option and padding
// replaced by opts, then an end option: extra options after the others.
func dhcpv4WithOptions(m, opts []byte) []byte {
	end := dhcpv4OffOptions
	for end < len(m) && m[end] != dhcpv4OptEnd {
		if m[end] == dhcpv4OptPad {
			end++
			continue
		}
		end += 2 + int(m[end+1])
	}
	out := append(append([]byte(nil), m[:end]...), opts...)
	return append(out, dhcpv4OptEnd)
}

// dhcpv4LongOption returns option code with n bytes of value, split into
// instances of at most 255 bytes.
func dhcpv4LongOption(code byte, n int) []byte {
	var b []byte
	for n > 0 {
		k := min(n, 255)
		b = append(b, code, byte(k))
		b = append(b, bytes.Repeat([]byte{code}, k)...)
		n -= k
	}
	return b
}

// FuzzParseDHCPv4 holds the hand-written parser and reply builder to the
// library's, byte for byte, on whole datagrams.
func FuzzParseDHCPv4(f *testing.F) {
	for _, b := range dhcpv4DiffSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(dhcpv4CheckSameAsLibrary)
}

// FuzzParseDHCPv4Message is FuzzParseDHCPv4 with the mutations confined
// to the DHCP message.
func FuzzParseDHCPv4Message(f *testing.F) {
	for _, b := range dhcpv4DiffSeeds(f) {
		if len(b) > v4HeaderMinLen+v4UDPHeaderLen {
			f.Add(b[v4HeaderMinLen+v4UDPHeaderLen:])
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1500 {
			t.Skip("longer than an Ethernet MTU")
		}
		dhcpv4CheckSameAsLibrary(t, dhcpv4Wrap(msg))
	})
}

// FuzzDHCPv4ProfileMatchesLibrary fuzzes the profile's options together
// with the request: the search list, routes, raw options, boot file and
// IPv6-only wait of the lease are built from fuzzed binding values, and
// the hand-written reply must stay byte for byte the library's.
func FuzzDHCPv4ProfileMatchesLibrary(f *testing.F) {
	seeds := dhcpv4DiffSeeds(f)
	for _, b := range seeds {
		f.Add(b[v4HeaderMinLen+v4UDPHeaderLen:], "tenant.example, eng.tenant.example, example.org",
			"169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254", "252:text:http://192.0.2.1/wpad.dat, 15:text:x, 23:u8:64",
			"pxelinux.0", uint32(1800), byte(0))
	}
	f.Add(dhcpv4WithOptions(make([]byte, dhcpv4OffOptions), []byte{53, 1, 1, 55, 4, 108, 119, 121, 67, 93, 2, 0, 7, 77, 4, 'i', 'P', 'X', 'E'}),
		"a.b, b, c.b", "0.0.0.0/0 via 192.0.2.9", "6:ips:192.0.2.1 192.0.2.2", "http://192.0.2.5/"+strings.Repeat("x", 140), uint32(300), byte(3))
	f.Fuzz(func(t *testing.T, msg []byte, search, routes, opts, bootfile string, wait uint32, flags byte) {
		if len(msg) > 1500 {
			t.Skip("longer than an Ethernet MTU")
		}
		packet := dhcpv4Wrap(msg)
		req, err := DecodeDHCPv4(packet)
		if err != nil {
			return
		}
		var p profile.Profile
		for key, value := range map[string]string{
			profile.KeySearch: search, profile.KeyRoutes: routes, profile.KeyDHCPOptions: opts, profile.KeyBootfile: bootfile,
		} {
			p.Set(key, value) // a refused value leaves the key unset
		}
		l := dhcpv4ProfileLease()
		l.DomainSearch, l.Routes, l.Extra, l.Bootfile = p.Search.Wire, p.Routes, p.DHCPOptions, p.Bootfile
		l.IPv6OnlyWait = time.Duration(wait) * time.Second
		if flags&1 != 0 {
			l.Router = netip.Addr{}
		}
		if flags&2 != 0 {
			l.Subnet = netip.MustParsePrefix("192.0.2.10/32")
		}
		var parsed DHCPv4Request
		if err := ParseDHCPv4(packet, &parsed); err != nil {
			t.Fatalf("ParseDHCPv4 refuses what DecodeDHCPv4 accepts: %v", err)
		}
		for _, typ := range []dhcpv4.MessageType{dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck} {
			want, wantErr := appendDHCPv4ReplyLibrary(nil, req, typ, l)
			got, gotErr := parsed.AppendReply(nil, typ, l)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%s: AppendReply error %v, library error %v", typ, gotErr, wantErr)
			}
			if wantErr == nil && !bytes.Equal(want, got) {
				t.Fatalf("%s:\n got % x\nwant % x", typ, got, want)
			}
		}
	})
}
