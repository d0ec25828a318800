package packets_test

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// decodeReply returns the DHCP message of a reply frame.
func decodeReply(t *testing.T, frame []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatalf("no UDP in % x", frame)
	}
	m, err := dhcpv4.FromBytes(udp.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDHCPv4ReplyProfile reads back, with the library's decoder, what a
// reply says for a binding that uses every profile key.
func TestDHCPv4ReplyProfile(t *testing.T) {
	asked := []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
		dhcpv4.OptionHostName, dhcpv4.OptionDomainName, dhcpv4.OptionNTPServers, dhcpv4.OptionDNSDomainSearchList,
		dhcpv4.OptionClasslessStaticRoute, dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName}
	req := testRequest(t, dhcpv4.MessageTypeDiscover, dhcpv4.WithRequestedOptions(asked...))
	frame, err := packets.BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, profileLease())
	if err != nil {
		t.Fatal(err)
	}
	m := decodeReply(t, frame)
	if got := m.HostName(); got != "vm1.tenant.example" {
		t.Errorf("option 12 = %q, want HOSTNAME as written", got)
	}
	if got := m.DomainSearch(); got == nil || !cmp.Equal(got.Labels, []string{"tenant.example", "eng.tenant.example", "example.org"}) {
		t.Errorf("option 119 = %v", got)
	}
	if got := m.NTPServers(); !slices.EqualFunc(got, []net.IP{{192, 0, 2, 123}, {198, 51, 100, 123}}, net.IP.Equal) {
		t.Errorf("option 42 = %v", got)
	}
	var routes []string
	for _, r := range m.ClasslessStaticRoute() {
		routes = append(routes, r.String())
	}
	// The default route comes last, so the VM keeps it (RFC 3442).
	want := []string{"route to 169.254.169.254/32 via 192.0.2.1", "route to 10.0.0.0/8 via 192.0.2.254", "route to 0.0.0.0/0 via 192.0.2.1"}
	if !cmp.Equal(routes, want) {
		t.Errorf("option 121 = %q, want %q", routes, want)
	}
	if !m.ServerIPAddr.Equal(net.IP{192, 0, 2, 5}) || m.TFTPServerName() != "192.0.2.5" || m.BootFileNameOption() != "pxelinux.0" || m.BootFileName != "pxelinux.0" {
		t.Errorf("siaddr %v, option 66 %q, option 67 %q, file %q", m.ServerIPAddr, m.TFTPServerName(), m.BootFileNameOption(), m.BootFileName)
	}
	if got := string(m.Options.Get(dhcpv4.GenericOptionCode(252))); got != "http://192.0.2.1/wpad.dat" {
		t.Errorf("raw option 252 = %q", got)
	}
	if _, ok := m.IPv6OnlyPreferred(); ok {
		t.Errorf("option 108 sent to a client that did not ask for it")
	}

	// RFC 8925: 108 goes only to a client that names it, never to one
	// that sent no parameter request list at all.
	for _, tt := range []struct {
		name string
		mods []dhcpv4.Modifier
		want bool
	}{
		{"asks 108", []dhcpv4.Modifier{dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionIPv6OnlyPreferred)}, true},
		{"no list", []dhcpv4.Modifier{dhcpv4.WithoutOption(dhcpv4.OptionParameterRequestList)}, false},
	} {
		req := testRequest(t, dhcpv4.MessageTypeDiscover, tt.mods...)
		frame, err := packets.BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, profileLease())
		if err != nil {
			t.Fatal(err)
		}
		wait, ok := decodeReply(t, frame).IPv6OnlyPreferred()
		if ok != tt.want || ok && wait != 1800*time.Second {
			t.Errorf("%s: option 108 = %v, %v; want sent %v", tt.name, wait, ok, tt.want)
		}
	}

	// PRIVATE: no router, so no default route among the classless ones.
	private := profileLease()
	private.Router = netip.Addr{}
	frame, err = packets.BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, private)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeReply(t, frame).ClasslessStaticRoute(); len(got) != 2 {
		t.Errorf("PRIVATE: option 121 = %v, want the two routes only", got)
	}
}
