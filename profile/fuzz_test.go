package profile_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// FuzzSet feeds any value to every key. An accepted value must read back
// the same from Raw, set the key again to an equal profile, and for SEARCH
// encode to labels the library decodes to the same names.
func FuzzSet(f *testing.F) {
	for _, seed := range []string{
		"192.0.2.53, 198.51.100.53", "2001:db8::53", "a.example.org b.example.org,example.org",
		"169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254", "10.0.0.0/33 via x",
		"3600", "dhcpv6", "http://192.0.2.5/boot.ipxe", "tftp://[2001:db8::5]/x.efi a b",
		"252:text:http://192.0.2.1/wpad.dat, 42:ips:192.0.2.1 192.0.2.2, 23:u8:64, 43:hex:01:02", "53:u8:1",
		"a.b.c,b.c,c,d.b.c", "",
	} {
		for i := range profile.NumKeys {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, value string) {
		key := profile.Keys()[int(k)%profile.NumKeys]
		var p profile.Profile
		if reason := p.Set(key, value); reason != "" {
			if p.Has(key) {
				t.Fatalf("refused (%s) but set", reason)
			}
			return
		}
		raw, ok := p.Raw(key)
		if !ok || raw != value {
			t.Fatalf("Raw = %q, %v; want %q", raw, ok, value)
		}
		var q profile.Profile
		if reason := q.Set(key, raw); reason != "" || !q.Equal(&p) {
			t.Fatalf("setting the same value again: %q, equal %v", reason, q.Equal(&p))
		}
		if key == profile.KeySearch && value != "" {
			labels, err := rfc1035label.FromBytes(p.Search.Wire)
			if err != nil {
				t.Fatalf("library cannot decode % x: %v", p.Search.Wire, err)
			}
			if diff := cmp.Diff(p.Search.Names, labels.Labels); diff != "" {
				t.Fatalf("search list decoded (-want +got):\n%s", diff)
			}
		}
		if key == profile.KeyDHCPOptions {
			for _, o := range p.DHCPOptions {
				if profile.OwnedOption(o.Code) || len(o.Data) == 0 || len(o.Data) > profile.MaxText {
					t.Fatalf("accepted option %d of %d bytes", o.Code, len(o.Data))
				}
			}
		}
	})
}
