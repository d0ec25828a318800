package profile_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

func TestSetAccepts(t *testing.T) {
	var p profile.Profile
	for key, value := range map[string]string{
		profile.KeyNameservers:  "192.0.2.53, 198.51.100.53",
		profile.KeyNameservers6: "2001:db8::53",
		profile.KeyDomain:       "tenant.example.",
		profile.KeySearch:       "a.example.org b.example.org,example.org",
		profile.KeyNTP:          "192.0.2.123",
		profile.KeyNTP6:         "2001:db8::123",
		profile.KeyRoutes:       "169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254",
		profile.KeyLeaseTime:    "3600",
		profile.KeyRenewalTime:  "1200",
		profile.KeyIPv6Mode:     "dhcpv6",
		profile.KeyNextServer:   "192.0.2.5",
		profile.KeyTFTPServer:   "tftp.example.org",
		profile.KeyBootfile:     "pxelinux.0",
		profile.KeyBootfileEFI:  "grubx64.efi",
		profile.KeyBootfileIPXE: "http://192.0.2.5/boot.ipxe",
		profile.KeyBootfileURL6: "tftp://[2001:db8::5]/grubx64.efi quiet console=ttyS0",
		profile.KeyIPv6Only:     "1800",
		profile.KeyDHCPOptions:  "252:text:http://192.0.2.1/wpad.dat, 42:ips:192.0.2.1 192.0.2.2, 23:u8:64, 57:u16:1400, 2:u32:3600, 19:bool:no, 43:hex:01:04:c0:00:02:01",
	} {
		if reason := p.Set(key, value); reason != "" {
			t.Fatalf("Set(%s, %q) refused: %s", key, value, reason)
		}
	}
	want := profile.Profile{
		Nameservers:  []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("198.51.100.53")},
		Nameservers6: []netip.Addr{netip.MustParseAddr("2001:db8::53")},
		Domain:       "tenant.example.",
		NTP:          []netip.Addr{netip.MustParseAddr("192.0.2.123")},
		NTP6:         []netip.Addr{netip.MustParseAddr("2001:db8::123")},
		Routes: []profile.Route{
			{Dest: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("192.0.2.1")},
			{Dest: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("192.0.2.254")},
		},
		LeaseTime:    time.Hour,
		RenewalTime:  20 * time.Minute,
		IPv6Mode:     profile.ModeDHCPv6,
		NextServer:   netip.MustParseAddr("192.0.2.5"),
		TFTPServer:   "tftp.example.org",
		Bootfile:     "pxelinux.0",
		BootfileEFI:  "grubx64.efi",
		BootfileIPXE: "http://192.0.2.5/boot.ipxe",
		BootfileURL6: profile.BootURL{URL: "tftp://[2001:db8::5]/grubx64.efi", Params: []string{"quiet", "console=ttyS0"}},
		IPv6Only:     30 * time.Minute,
		DHCPOptions: []profile.Option{
			{Code: 252, Data: []byte("http://192.0.2.1/wpad.dat")},
			{Code: 42, Data: []byte{192, 0, 2, 1, 192, 0, 2, 2}},
			{Code: 23, Data: []byte{64}},
			{Code: 57, Data: []byte{0x05, 0x78}},
			{Code: 2, Data: []byte{0, 0, 0x0e, 0x10}},
			{Code: 19, Data: []byte{0}},
			{Code: 43, Data: []byte{1, 4, 192, 0, 2, 1}},
		},
	}
	opts := cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Search" }, cmp.Ignore()),
		cmp.AllowUnexported(profile.Profile{}),
		cmp.FilterPath(func(p cmp.Path) bool { s := p.Last().String(); return s == ".set" || s == ".raw" }, cmp.Ignore()),
	}
	if diff := cmp.Diff(want, p, opts); diff != "" {
		t.Errorf("Set (-want +got):\n%s", diff)
	}
	if got := p.Search.Names; !cmp.Equal(got, []string{"a.example.org", "b.example.org", "example.org"}) {
		t.Errorf("Search.Names = %q", got)
	}
	if key, reason := p.Check(); reason != "" {
		t.Errorf("Check: %s %s", key, reason)
	}
}

func TestSetRefuses(t *testing.T) {
	for _, tt := range []struct{ key, value, reason string }{
		{profile.KeyRoutes, "10.0.0.0/33 via x", "not an IPv4 network"},
		{profile.KeyRoutes, "10.0.0.1/8 via 192.0.2.1", "host bits"},
		{profile.KeyRoutes, "10.0.0.0/8 192.0.2.1", "want DEST/LEN via ROUTER"},
		{profile.KeyRoutes, "10.0.0.0/8 via 2001:db8::1", "router"},
		{profile.KeyDHCPOptions, "53:u8:1", "daemon's own"},
		{profile.KeyDHCPOptions, "1:ip:255.255.255.0", "daemon's own"},
		{profile.KeyDHCPOptions, "82:hex:01", "daemon's own"},
		{profile.KeyDHCPOptions, "252:text:" + strings.Repeat("x", 300), "text of 300 bytes"},
		{profile.KeyDHCPOptions, "252:hex:zz", "in hex"},
		{profile.KeyDHCPOptions, "23:u8:256", "8-bit"},
		{profile.KeyDHCPOptions, "23:float:1", "type"},
		{profile.KeyDHCPOptions, "23:u8:1, 23:u8:2", "twice"},
		{profile.KeyDHCPOptions, "300:u8:1", "1..254"},
		{profile.KeySearch, strings.Repeat("a.", 128) + "org", "longer than 253"},
		{profile.KeySearch, "bad..example", "not a domain name"},
		{profile.KeyDomain, "exa mple", "not a domain name"},
		{profile.KeyNameservers, "2001:db8::1", "not an IPv4"},
		{profile.KeyNameservers6, "192.0.2.1", "not an IPv6"},
		{profile.KeyNTP, "224.0.0.1", "not an IPv4 unicast"},
		{profile.KeyLeaseTime, "-1", "whole seconds"},
		{profile.KeyLeaseTime, "4294967296", "whole seconds"},
		{profile.KeyIPv6Only, "60", "300.."},
		{profile.KeyIPv6Mode, "stateful", "want slaac"},
		{profile.KeyNextServer, "tftp.example", "IPv4"},
		{profile.KeyBootfile, "a b", "printable ASCII"},
		{profile.KeyBootfile, strings.Repeat("f", 256), "256 bytes"},
		{profile.KeyBootfileURL6, "grubx64.efi", "want a URL"},
	} {
		var p profile.Profile
		reason := p.Set(tt.key, tt.value)
		if !strings.Contains(reason, tt.reason) {
			t.Errorf("Set(%s, %.40q) = %q, want a reason with %q", tt.key, tt.value, reason, tt.reason)
		}
		if p.Has(tt.key) {
			t.Errorf("Set(%s, %.40q) refused the value but marked the key set", tt.key, tt.value)
		}
	}
	var p profile.Profile
	p.Set(profile.KeyLeaseTime, "600")
	p.Set(profile.KeyRenewalTime, "600")
	if key, reason := p.Check(); key != profile.KeyRenewalTime || reason == "" {
		t.Errorf("Check with T1 = lease = %q %q, want RENEWAL_TIME refused", key, reason)
	}
}

// TestOver checks the three states: absent takes the default, empty
// unsets it, a value replaces it.
func TestOver(t *testing.T) {
	var def, vm profile.Profile
	def.Set(profile.KeyNameservers, "192.0.2.53")
	def.Set(profile.KeyDomain, "host.example")
	def.Set(profile.KeyNTP, "192.0.2.123")
	vm.Set(profile.KeyDomain, "")
	vm.Set(profile.KeyNTP, "198.51.100.123")
	got := vm.Over(&def)
	if len(got.Nameservers) != 1 || got.Nameservers[0] != netip.MustParseAddr("192.0.2.53") {
		t.Errorf("absent NAMESERVERS: got %v, want the default", got.Nameservers)
	}
	if got.Domain != "" || !got.Has(profile.KeyDomain) {
		t.Errorf("empty DOMAIN: got %q (set %v), want unset over the default", got.Domain, got.Has(profile.KeyDomain))
	}
	if len(got.NTP) != 1 || got.NTP[0] != netip.MustParseAddr("198.51.100.123") {
		t.Errorf("NTP: got %v, want the binding's", got.NTP)
	}
	allocs := testing.AllocsPerRun(100, func() { got = vm.Over(&def) })
	if allocs != 0 {
		t.Errorf("Over allocates %.0f times", allocs)
	}
}

// TestEncodeSearch checks the compression against the library's decoder
// and a hand-made expectation.
func TestEncodeSearch(t *testing.T) {
	names := []string{"eng.example.org", "example.org", "sales.example.org", "example.net", "a.eng.example.org"}
	wire := profile.EncodeSearch(names)
	labels, err := rfc1035label.FromBytes(wire)
	if err != nil {
		t.Fatalf("library cannot decode % x: %v", wire, err)
	}
	if diff := cmp.Diff(names, labels.Labels); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	plain := 0
	for _, n := range names {
		plain += len(n) + 2
	}
	// eng.example.org spelled out (17), example.org a pointer (2),
	// sales + pointer (8), example.net (13), a + pointer to eng... (4).
	if len(wire) != 17+2+8+13+4 || len(wire) >= plain {
		t.Errorf("compressed to %d bytes (uncompressed %d): % x", len(wire), plain, wire)
	}
}
