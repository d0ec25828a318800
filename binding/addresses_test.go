package binding_test

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

const addrBase = "MAC=52:54:00:00:00:01\nIP=192.0.2.10\nSUBNET=192.0.2.0/24\nSUBNET6=2001:db8:1::/64\n"

func TestParseAddresses(t *testing.T) {
	b, err := binding.Parse("tap0", []byte(addrBase+
		"IPS=\"192.0.2.11, 198.51.100.7\"\n"+
		"IPS6=2001:db8:1::11\n"+
		"ROUTED4=198.51.100.16/28\n"+
		"ROUTED6='2001:db8:200::/64 2001:db8:201::/64'\n"+
		"DELEGATED6=2001:db8:100::/56\n"+
		"PREFIX6=2001:db8:2:1::/64\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := binding.Addresses{
		IPs:        []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("198.51.100.7")},
		IPs6:       []netip.Addr{netip.MustParseAddr("2001:db8:1::11")},
		Routed4:    []netip.Prefix{netip.MustParsePrefix("198.51.100.16/28")},
		Routed6:    []netip.Prefix{netip.MustParsePrefix("2001:db8:200::/64"), netip.MustParsePrefix("2001:db8:201::/64")},
		Delegated6: []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56")},
		Prefix6:    netip.MustParsePrefix("2001:db8:2:1::/64"),
	}
	if diff := cmp.Diff(want, b.Addresses, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Addresses (-want +got):\n%s", diff)
	}
	wantSrc4 := "[192.0.2.10/32 192.0.2.11/32 198.51.100.7/32 198.51.100.16/28]"
	if got := fmtPrefixes(b.Sources4()); got != wantSrc4 {
		t.Errorf("Sources4 = %s, want %s", got, wantSrc4)
	}
	// Values round-trips through Format and Parse.
	data, err := binding.Format(b.Values())
	if err != nil {
		t.Fatal(err)
	}
	again, err := binding.Parse("tap0", data)
	if err != nil {
		t.Fatalf("Parse(Format(Values)): %v\n%s", err, data)
	}
	if !again.Addresses.Equal(&b.Addresses) {
		t.Errorf("round trip: got %+v, want %+v\n%s", again.Addresses, b.Addresses, data)
	}
	// An EUI64-only binding has none of them.
	plain, err := binding.Parse("tap0", []byte(addrBase))
	if err != nil || !plain.Addresses.IsZero() {
		t.Errorf("plain binding: %v, addresses %+v", err, plain.Addresses)
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestParseAddressesInvalid(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"IPS not IPv4", "IPS=2001:db8::1\n", `tap0:5: IPS "2001:db8::1": invalid ("2001:db8::1": want an IPv4 address`},
		{"IPS multicast", "IPS=192.0.2.11,224.0.0.1\n", `tap0:5: IPS "192.0.2.11,224.0.0.1": invalid ("224.0.0.1": not usable as a host address)`},
		{"IPS equals IP", "IPS=192.0.2.10\n", `IPS "192.0.2.10": invalid (192.0.2.10 overlaps IP 192.0.2.10 of the same binding)`},
		{"IPS6 link-local", "IPS6=fe80::1\n", `IPS6 "fe80::1": invalid ("fe80::1": not usable as a global host address)`},
		{"ROUTED4 host bits", "ROUTED4=198.51.100.17/28\n", `("198.51.100.17/28": host bits set, want 198.51.100.16/28)`},
		{"ROUTED4 in SUBNET", "ROUTED4=192.0.2.128/25\n", `(192.0.2.128/25 overlaps SUBNET 192.0.2.0/24, which is on-link)`},
		{"ROUTED4 covers IPS", "IPS=198.51.100.20\nROUTED4=198.51.100.16/28\n", `tap0:6: ROUTED4 "198.51.100.16/28": invalid (198.51.100.16/28 overlaps IPS 198.51.100.20 of the same binding)`},
		{"ROUTED6 IPv4", "ROUTED6=198.51.100.16/28\n", `want an IPv6 prefix`},
		{"DELEGATED6 in SUBNET6", "DELEGATED6=2001:db8:1::/80\n", `overlaps SUBNET6 2001:db8:1::/64, which is on-link`},
		{"PREFIX6 longer than /64", "PREFIX6=2001:db8:2:1::/80\n", `want a prefix length 1..64`},
		{"PREFIX6 twice", "PREFIX6=2001:db8:2:1::/64,2001:db8:2:2::/64\n", `want one prefix`},
		{"DELEGATED6 overlaps PREFIX6", "PREFIX6=2001:db8:2::/48\nDELEGATED6=2001:db8:2:100::/56\n", `PREFIX6 "2001:db8:2::/48": invalid (2001:db8:2::/48 overlaps DELEGATED6 2001:db8:2:100::/56 of the same binding)`},
		{"empty list", "IPS=,\n", `IPS ",": invalid (want at least one item)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := binding.Parse("tap0", []byte(addrBase+tc.extra))
			if err == nil || !errors.Is(err, binding.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Next hops: ROUTED4 needs IP, ROUTED6 an IPv6 address.
	if _, err := binding.Parse("tap0", []byte("MAC=52:54:00:00:00:01\nROUTED4=198.51.100.16/28\n")); err == nil || !strings.Contains(err.Error(), "tap0:2: ROUTED4") || !strings.Contains(err.Error(), "needs IP") {
		t.Errorf("ROUTED4 without IP: %v", err)
	}
	if _, err := binding.Parse("tap0", []byte("MAC=52:54:00:00:00:01\nDELEGATED6=2001:db8:100::/56\n")); err == nil || !strings.Contains(err.Error(), "needs EUI64") {
		t.Errorf("DELEGATED6 without an IPv6 address: %v", err)
	}
	if _, err := binding.Parse("tap0", []byte("MAC=52:54:00:00:00:01\nIPS6=2001:db8:9::1\nDELEGATED6=2001:db8:100::/56\n")); err != nil {
		t.Errorf("DELEGATED6 via IPS6: %v", err)
	}
}

func TestClaims(t *testing.T) {
	parse := func(name, content string) *binding.Binding {
		b, err := binding.Parse(name, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		return &b
	}
	c := binding.NewClaims()
	first := parse("tap1", "MAC=52:54:00:00:00:01\nIP=192.0.2.10\nIPS=192.0.2.11\nROUTED4=198.51.100.16/28\nSUBNET6=2001:db8:1::/64\nDELEGATED6=2001:db8:100::/56\n")
	if err := c.Check(first); err != nil {
		t.Fatal(err)
	}
	c.Set(first)
	tests := []struct {
		name, content, want string
	}{
		{"same extra address", "MAC=52:54:00:00:00:02\nIPS=192.0.2.11\n", "binding: tap2: IPS 192.0.2.11: invalid (overlaps IPS 192.0.2.11 of binding tap1, which keeps it)"},
		{"extra address is the other's IP", "MAC=52:54:00:00:00:02\nIPS=192.0.2.10\n", "(overlaps IP 192.0.2.10 of binding tap1"},
		{"IP inside the other's routed prefix", "MAC=52:54:00:00:00:02\nIP=198.51.100.20\n", "binding: tap2: IP 198.51.100.20: invalid (overlaps ROUTED4 198.51.100.16/28 of binding tap1"},
		{"prefix covering the other's prefix", "MAC=52:54:00:00:00:02\nIP=192.0.2.20\nROUTED4=198.51.100.0/24\n", "ROUTED4 198.51.100.0/24: invalid (overlaps ROUTED4 198.51.100.16/28"},
		{"prefix covering the other's address", "MAC=52:54:00:00:00:02\nIP=192.0.2.20\nROUTED4=192.0.2.8/30\n", "(overlaps IP 192.0.2.10 of binding tap1"},
		{"delegated inside the other's", "MAC=52:54:00:00:00:02\nIPS6=2001:db8:9::1\nDELEGATED6=2001:db8:100:10::/60\n", "DELEGATED6 2001:db8:100:10::/60: invalid (overlaps DELEGATED6 2001:db8:100::/56"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(parse("tap2", tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, binding.ErrInvalid) {
				t.Errorf("Check = %v, want %q", err, tc.want)
			}
		})
	}
	// Two classic bindings sharing IP are left alone, as before.
	if err := c.Check(parse("tap3", "MAC=52:54:00:00:00:03\nIP=192.0.2.10\n")); err != nil {
		t.Errorf("classic duplicate IP: %v", err)
	}
	// The binding itself, rewritten, does not overlap itself.
	if err := c.Check(first); err != nil {
		t.Errorf("rewrite of tap1: %v", err)
	}
	c.Remove("tap1")
	if err := c.Check(parse("tap2", "MAC=52:54:00:00:00:02\nIPS=192.0.2.11\n")); err != nil {
		t.Errorf("after tap1 is gone: %v", err)
	}
}

func TestTableRefusesOverlap(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:01\nIP=192.0.2.10\nIPS=192.0.2.11\n")
	writeBinding(t, dir, "tap2", "MAC=52:54:00:00:00:02\nIP=192.0.2.20\nIPS=192.0.2.11\n")
	links := newFakeLinks(binding.Link{Name: "tap1", Index: 10, MAC: macTap0}, binding.Link{Name: "tap2", Index: 11, MAC: macTap1})
	var logs netnstest.SyncBuffer
	tbl := startTable(t, dir, links, slog.New(slog.NewTextHandler(&logs, nil)))
	if got := activeIP(tbl, 10); got != "192.0.2.10" {
		t.Errorf("tap1 active with %q, want 192.0.2.10", got)
	}
	st, _ := statusOf(tbl, "tap2")
	if st.State != binding.StateInvalid || !strings.Contains(st.Reason, "overlaps IPS 192.0.2.11 of binding tap1") {
		t.Errorf("tap2 status %s %q, want invalid naming tap1", st.State, st.Reason)
	}
	if l := logs.String(); !strings.Contains(l, "file refused: its addresses overlap") || !strings.Contains(l, "OTHER_FILE="+dir+"/tap1") {
		t.Errorf("no clear log line naming the other file:\n%s", l)
	}
	// When the first lets go, the refused file is read again.
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:01\nIP=192.0.2.10\n")
	eventually(t, "tap2 active once tap1 dropped the address", func() bool { return activeIP(tbl, 11) == "192.0.2.20" })
}
