package packets_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// TestBuildRAProfile checks the RFC 4191 and RFC 8781 parts of an RA as
// ndp parses them back.
func TestBuildRAProfile(t *testing.T) {
	frame, err := packets.BuildRA(packets.RAParams{
		RouterMAC:      v6RouterMAC,
		RouterLifetime: 900 * time.Second,
		Preference:     ndp.High,
		Routes: []packets.RouteInfo{
			{Prefix: netip.MustParsePrefix("2001:db8:100::/48"), Preference: ndp.Low, Lifetime: 900 * time.Second},
			{Prefix: netip.MustParsePrefix("2001:db8:200::/64"), Lifetime: time.Hour},
		},
		PREF64:         netip.MustParsePrefix("64:ff9b::/96"),
		PREF64Lifetime: 900 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ndp.ParseMessage(v6DecodeFrame(t, frame).Payload)
	if err != nil {
		t.Fatal(err)
	}
	ra := msg.(*ndp.RouterAdvertisement)
	want := &ndp.RouterAdvertisement{
		CurrentHopLimit: 64, RouterSelectionPreference: ndp.High, RouterLifetime: 900 * time.Second,
		Options: []ndp.Option{
			&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: v6RouterMAC},
			&ndp.RouteInformation{PrefixLength: 48, Preference: ndp.Low, RouteLifetime: 900 * time.Second, Prefix: netip.MustParseAddr("2001:db8:100::")},
			&ndp.RouteInformation{PrefixLength: 64, RouteLifetime: time.Hour, Prefix: netip.MustParseAddr("2001:db8:200::")},
			&ndp.PREF64{Lifetime: 904 * time.Second, Prefix: netip.MustParsePrefix("64:ff9b::/96")},
		},
	}
	if diff := cmp.Diff(want, ra, v6NDCompare, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("router advertisement (-want +got):\n%s", diff)
	}
	if _, err := packets.BuildRA(packets.RAParams{RouterMAC: v6RouterMAC, Routes: []packets.RouteInfo{{Prefix: netip.MustParsePrefix("192.0.2.0/24")}}}); err == nil {
		t.Error("BuildRA accepted an IPv4 route information")
	}
}

// TestBuildDHCPv6ReplyProfile checks options 56, 59 and 60 as the library
// parses them back: NTP always, the boot file URL and its parameters only
// when the option request names them.
func TestBuildDHCPv6ReplyProfile(t *testing.T) {
	p := v6DHCPParams()
	p.NTP = []netip.Addr{netip.MustParseAddr("2001:db8::123")}
	p.BootURL = "tftp://[2001:db8::5]/grubx64.efi"
	p.BootParams = []string{"quiet"}
	for _, asked := range []bool{false, true} {
		req, err := packets.DecodeDHCPv6(v6ReadFixture(t, "dhclient-information-request.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if asked {
			req.Msg.UpdateOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam))
		}
		frame, err := packets.BuildDHCPv6Reply(req, p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dhcpv6.MessageFromBytes(v6DecodeFrame(t, frame).Payload)
		if err != nil {
			t.Fatal(err)
		}
		ntp, ok := m.GetOneOption(dhcpv6.OptionNTPServer).(*dhcpv6.OptNTPServer)
		if !ok || len(ntp.Suboptions) != 1 {
			t.Fatalf("option 56 = %v", m.GetOneOption(dhcpv6.OptionNTPServer))
		}
		if addr, ok := ntp.Suboptions[0].(*dhcpv6.NTPSuboptionSrvAddr); !ok || !net.IP(*addr).Equal(net.ParseIP("2001:db8::123")) {
			t.Errorf("option 56 suboption = %v", ntp.Suboptions[0])
		}
		url := m.Options.BootFileURL()
		params := m.Options.BootFileParam()
		if asked && (url != p.BootURL || !cmp.Equal(params, p.BootParams)) || !asked && (url != "" || params != nil) {
			t.Errorf("asked %v: option 59 %q, option 60 %q", asked, url, params)
		}
	}
}
