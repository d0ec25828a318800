package responder_test

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/profile"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// maximalProfile is a binding profile that uses every key.
func maximalProfile(t testing.TB) profile.Profile {
	var p profile.Profile
	for _, kv := range [][2]string{
		{profile.KeyNameservers, "192.0.2.53, 198.51.100.53"},
		{profile.KeyNameservers6, "2001:db8::53"},
		{profile.KeyDomain, "tenant.example"},
		{profile.KeySearch, "tenant.example, eng.tenant.example, example.org"},
		{profile.KeyNTP, "192.0.2.123"},
		{profile.KeyNTP6, "2001:db8::123"},
		{profile.KeyRoutes, "169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254"},
		{profile.KeyLeaseTime, "3600"},
		{profile.KeyRenewalTime, "1200"},
		{profile.KeyIPv6Mode, "dhcpv6"},
		{profile.KeyNextServer, "192.0.2.5"},
		{profile.KeyTFTPServer, "192.0.2.5"},
		{profile.KeyBootfile, "pxelinux.0"},
		{profile.KeyBootfileEFI, "grubx64.efi"},
		{profile.KeyBootfileIPXE, "http://192.0.2.5/boot.ipxe"},
		{profile.KeyBootfileURL6, "tftp://[2001:db8::5]/grubx64.efi quiet"},
		{profile.KeyIPv6Only, "1800"},
		{profile.KeyDHCPOptions, "252:text:http://192.0.2.1/wpad.dat, 23:u8:64"},
	} {
		if reason := p.Set(kv[0], kv[1]); reason != "" {
			t.Fatalf("%s: %s", kv[0], reason)
		}
	}
	return p
}

// dhcpv4ProfileBinding is dhcpv4Binding with the maximal profile.
func dhcpv4ProfileBinding(t testing.TB) *binding.Active {
	a := dhcpv4Binding()
	a.Profile = maximalProfile(t)
	return a
}

// dhcpv4ProfileOptions is dhcpv4Options with host-wide profile defaults,
// which the binding overrides.
func dhcpv4ProfileOptions(t testing.TB) responder.Options {
	o := dhcpv4Options()
	o.Profile.Set(profile.KeyNTP, "198.51.100.123")
	o.Profile.Set(profile.KeySearch, "host.example")
	return o
}

// answer runs one DHCPv4 request through a responder and returns the
// decoded reply.
func answer(t *testing.T, a *binding.Active, o responder.Options, payload []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	sender := &v6Sender{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, o, log)
	r.Handler(responder.KindDHCPv4)(&responder.Packet{InIndex: a.TapIndex, HwAddr: a.MAC, Payload: payload})
	sent := sender.frames()
	if len(sent) != 1 {
		t.Fatalf("%d replies, want 1", len(sent))
	}
	pkt := gopacket.NewPacket(sent[0].frame, layers.LayerTypeEthernet, gopacket.Default)
	udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatal("reply without UDP")
	}
	m, err := dhcpv4.FromBytes(udp.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestProfileDHCPv4 checks what the binding's profile changes in a reply:
// its own keys win over the defaults, an empty key unsets the default, and
// the boot file follows the client's firmware.
func TestProfileDHCPv4(t *testing.T) {
	a := dhcpv4ProfileBinding(t)
	o := dhcpv4ProfileOptions(t)
	prl := dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
		dhcpv4.OptionDomainName, dhcpv4.OptionNTPServers, dhcpv4.OptionDNSDomainSearchList, dhcpv4.OptionClasslessStaticRoute,
		dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName, dhcpv4.OptionHostName)
	m := answer(t, a, o, dhcpv4Request(t, dhcpv4.MessageTypeDiscover, prl))
	if got := m.NTPServers(); len(got) != 1 || !got[0].Equal(net.IP{192, 0, 2, 123}) {
		t.Errorf("NTP = %v, want the binding's", got)
	}
	if got := m.DomainSearch(); got == nil || len(got.Labels) != 3 {
		t.Errorf("search = %v, want the binding's three names", got)
	}
	if got := m.DNS(); len(got) != 2 {
		t.Errorf("DNS = %v, want the binding's two servers", got)
	}
	if got := m.IPAddressLeaseTime(0); got.Seconds() != 3600 {
		t.Errorf("lease = %v, want LEASE_TIME", got)
	}
	if got := m.HostName(); got != "vm7.example.net" {
		t.Errorf("host name = %q, want HOSTNAME as written", got)
	}
	if got := len(m.ClasslessStaticRoute()); got != 3 {
		t.Errorf("%d classless routes, want ROUTES and the default route", got)
	}

	// DOMAIN= and NTP= unset the configuration's values.
	a.Profile.Set(profile.KeyNTP, "")
	a.Profile.Set(profile.KeyDomain, "")
	o.Domain = "host.example"
	m = answer(t, a, o, dhcpv4Request(t, dhcpv4.MessageTypeDiscover, prl))
	if m.Options.Has(dhcpv4.OptionNTPServers) || m.Options.Has(dhcpv4.OptionDomainName) {
		t.Errorf("NTP %v, domain %q sent although the binding unsets them", m.NTPServers(), m.DomainName())
	}
	// Absent keys take the configuration's default.
	a.Profile.Unset(profile.KeyNTP)
	m = answer(t, a, o, dhcpv4Request(t, dhcpv4.MessageTypeDiscover, prl))
	if got := m.NTPServers(); len(got) != 1 || !got[0].Equal(net.IP{198, 51, 100, 123}) {
		t.Errorf("NTP = %v, want the configuration's default", got)
	}

	for _, tt := range []struct {
		name string
		mod  dhcpv4.Modifier
		want string
	}{
		{"BIOS", dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 0})), "pxelinux.0"},
		{"UEFI x86-64", dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 7})), "grubx64.efi"},
		{"UEFI BC", dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 9})), "grubx64.efi"},
		{"iPXE", dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")), "http://192.0.2.5/boot.ipxe"},
		{"iPXE RFC 3004", dhcpv4.WithOption(dhcpv4.OptRFC3004UserClass([]string{"iPXE"})), "http://192.0.2.5/boot.ipxe"},
	} {
		m := answer(t, a, o, dhcpv4Request(t, dhcpv4.MessageTypeDiscover, prl, tt.mod))
		if got := m.BootFileNameOption(); got != tt.want || m.BootFileName != tt.want {
			t.Errorf("%s: option 67 %q, file %q; want %q", tt.name, got, m.BootFileName, tt.want)
		}
		if !m.ServerIPAddr.Equal(net.IP{192, 0, 2, 5}) || m.TFTPServerName() != "192.0.2.5" {
			t.Errorf("%s: siaddr %v, option 66 %q", tt.name, m.ServerIPAddr, m.TFTPServerName())
		}
	}
}

// TestProfileIPv6Mode puts a binding with IPV6_MODE=dhcpv6 next to one
// that keeps the configuration's slaac, and one with none.
func TestProfileIPv6Mode(t *testing.T) {
	for _, tt := range []struct {
		mode            string
		managed, answer bool
	}{
		{"", false, true},
		{"dhcpv6", true, true},
		{"slaac+dhcpv6", false, true},
		{"none", false, false},
	} {
		a := v6Binding()
		if tt.mode != "" {
			a.Profile.Set(profile.KeyIPv6Mode, tt.mode)
		}
		o := v6Options(responder.ModeSLAAC)
		o.RouterPreference = ndp.High
		sender := &v6Sender{}
		r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
		r.Handler(responder.KindRS)(&responder.Packet{InIndex: a.TapIndex, HwAddr: a.MAC, Payload: v6Fixture(t, "rdisc6-rs.bin")})
		sent := sender.frames()
		if !tt.answer {
			if len(sent) != 0 {
				t.Errorf("IPV6_MODE=%s: %d RAs, want none", tt.mode, len(sent))
			}
			continue
		}
		if len(sent) != 1 {
			t.Fatalf("IPV6_MODE=%q: %d RAs, want 1", tt.mode, len(sent))
		}
		msg, err := ndp.ParseMessage(sent[0].frame[14+40:])
		if err != nil {
			t.Fatal(err)
		}
		ra := msg.(*ndp.RouterAdvertisement)
		if ra.ManagedConfiguration != tt.managed || ra.RouterSelectionPreference != ndp.High {
			t.Errorf("IPV6_MODE=%q: M flag %v, preference %v; want M %v, high", tt.mode, ra.ManagedConfiguration, ra.RouterSelectionPreference, tt.managed)
		}
	}

}
