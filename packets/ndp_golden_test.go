package packets_test

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// v6UpdateRegistered makes sure the shared -update flag exists. The DHCPv4
// golden tests may register it too; whichever file initialises first owns
// it (this file's name sorts after theirs), and both read it by name.
var v6UpdateRegistered = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden frames under fixtures/ instead of comparing")
	}
	return true
}()

// v6Update reports whether -update was given.
func v6Update() bool {
	f := flag.Lookup("update")
	return v6UpdateRegistered && f != nil && f.Value.String() == "true"
}

// v6CheckGolden compares frame to fixtures/ipv6/golden/name.frame, or
// rewrites the file under -update.
func v6CheckGolden(t *testing.T, name string, frame []byte) {
	t.Helper()
	path := filepath.Join(v6FixtureDir, "golden", name+".frame")
	if v6Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, frame, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden frame (regenerate with -update): %v", err)
	}
	if !bytes.Equal(want, frame) {
		t.Errorf("frame differs from %s (regenerate with -update after review):\nwant %x\ngot  %x", path, want, frame)
	}
}

// v6GoldenRA are the advertisement parameters of the golden frames: what
// the responder sends in slaac+dhcpv6 mode with a 300 s RA period.
func v6GoldenRA() packets.RAParams {
	return packets.RAParams{
		RouterMAC:         v6RouterMAC,
		Other:             true,
		RouterLifetime:    900 * time.Second,
		Prefix:            v6Prefix,
		Autonomous:        true,
		ValidLifetime:     86400 * time.Second,
		PreferredLifetime: 14400 * time.Second,
		DNS:               []netip.Addr{netip.MustParseAddr("2001:db8::53")},
		Domains:           []string{"example.org"},
		DNSLifetime:       900 * time.Second,
		MTU:               1450,
	}
}

func TestGoldenRA(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // "" for an unsolicited advertisement
		change  func(*packets.RAParams)
	}{
		{name: "ra-rdisc6", fixture: "rdisc6-rs.bin"},
		{name: "ra-dhcpcd-stateful", fixture: "dhcpcd-rs.bin", change: func(p *packets.RAParams) {
			p.Managed, p.Autonomous, p.MTU = true, false, 0
		}},
		{name: "ra-periodic-private-slaac", change: func(p *packets.RAParams) {
			p.Other, p.RouterLifetime, p.DNS, p.Domains = false, 0, nil, nil
		}},
		// A maximal profile (issue 12): the binding's DNS and search list,
		// router preference, route information and PREF64.
		{name: "ra-rdisc6-profile", fixture: "rdisc6-rs.bin", change: func(p *packets.RAParams) {
			p.Managed, p.Autonomous = true, false
			p.DNS = []netip.Addr{netip.MustParseAddr("2001:db8:99::53")}
			p.Domains = []string{"tenant.example", "example.org"}
			p.Preference = ndp.High
			p.Routes = []packets.RouteInfo{
				{Prefix: netip.MustParsePrefix("2001:db8:100::/48"), Preference: ndp.Low, Lifetime: 900 * time.Second},
				{Prefix: netip.MustParsePrefix("2001:db8:200::/56"), Lifetime: 900 * time.Second},
			}
			p.PREF64, p.PREF64Lifetime = netip.MustParsePrefix("64:ff9b::/96"), 900*time.Second
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := v6GoldenRA()
			if tt.fixture != "" {
				rs, err := packets.DecodeRS(v6ReadFixture(t, tt.fixture))
				if err != nil {
					t.Fatalf("DecodeRS: %v", err)
				}
				p.Dst, p.DstMAC = rs.Src, v6VMMAC
			}
			if tt.change != nil {
				tt.change(&p)
			}
			frame, err := packets.BuildRA(p)
			if err != nil {
				t.Fatalf("BuildRA: %v", err)
			}
			v6CheckGolden(t, tt.name, frame)
		})
	}
}

func TestGoldenNA(t *testing.T) {
	for _, name := range []string{"ndisc6-ns", "dhcpcd-ns", "kernel-ns-dad", "dhcpcd-ns-dad"} {
		t.Run(name, func(t *testing.T) {
			ns, err := packets.DecodeNS(v6ReadFixture(t, name+".bin"))
			if err != nil {
				t.Fatalf("DecodeNS: %v", err)
			}
			p := packets.NAParams{RouterMAC: v6RouterMAC, Target: ns.Target, Router: true}
			if !ns.IsDAD() {
				p.Dst, p.DstMAC = ns.Src, ns.SourceLL
			}
			frame, err := packets.BuildNA(p)
			if err != nil {
				t.Fatalf("BuildNA: %v", err)
			}
			v6CheckGolden(t, "na-"+name, frame)
		})
	}
}

func TestGoldenDHCPv6(t *testing.T) {
	for _, name := range []string{
		"dhclient-information-request", "dhclient-solicit", "dhclient-request", "dhclient-confirm", "dhclient-release",
		"dhcpcd-solicit", "dhcpcd-request", "dhcpcd-renew", "dhcpcd-rebind", "dhcpcd-confirm", "dhcpcd-release",
	} {
		t.Run(name, func(t *testing.T) {
			req, err := packets.DecodeDHCPv6(v6ReadFixture(t, name+".bin"))
			if err != nil {
				t.Fatalf("DecodeDHCPv6: %v", err)
			}
			frame, err := packets.BuildDHCPv6Reply(req, v6DHCPParams())
			if err != nil {
				t.Fatalf("BuildDHCPv6Reply: %v", err)
			}
			v6CheckGolden(t, "reply-"+name, frame)
		})
	}
	// A maximal profile (issue 12): NTP (56), and the boot file URL and
	// its parameters (59, 60) to a client that asks for them.
	t.Run("dhcpcd-solicit-profile", func(t *testing.T) {
		req, err := packets.DecodeDHCPv6(v6ReadFixture(t, "dhcpcd-solicit.bin"))
		if err != nil {
			t.Fatalf("DecodeDHCPv6: %v", err)
		}
		req.Msg.UpdateOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList,
			dhcpv6.OptionNTPServer, dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam))
		p := v6DHCPParams()
		p.NTP = []netip.Addr{netip.MustParseAddr("2001:db8::123"), netip.MustParseAddr("2001:db8::124")}
		p.BootURL, p.BootParams = "tftp://[2001:db8::5]/grubx64.efi", []string{"quiet", "console=ttyS0"}
		frame, err := packets.BuildDHCPv6Reply(req, p)
		if err != nil {
			t.Fatalf("BuildDHCPv6Reply: %v", err)
		}
		v6CheckGolden(t, "reply-dhcpcd-solicit-profile", frame)
	})
}
