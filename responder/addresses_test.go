package responder_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// addrRun hands one packet of kind to a responder of binding a in mode
// and returns the outcome counted and the one-line description of the
// reply ("" when none).
func addrRun(t *testing.T, a *binding.Active, mode responder.IPv6Mode, kind responder.Kind, packet []byte) (responder.Outcome, string) {
	t.Helper()
	sender := &v6Sender{}
	r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, v6Options(mode), slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Handler(kind)(&responder.Packet{ID: 1, InIndex: v6TapIndex, HwAddr: v6VMMAC, Payload: packet})
	outcome := responder.Outcome(255)
	for _, o := range []responder.Outcome{responder.OutcomeAnswered, responder.OutcomeIgnored, responder.OutcomeMalformed, responder.OutcomeError, responder.OutcomeSpoofed} {
		if r.Stats.Get(kind, o) == 1 {
			outcome = o
		}
	}
	sent := sender.frames()
	switch len(sent) {
	case 0:
		return outcome, ""
	case 1:
	default:
		t.Fatalf("%d frames sent", len(sent))
	}
	if kind != responder.KindDHCPv6 {
		return outcome, v6DescribeFrame(t, sent[0]).Message
	}
	pkt := gopacket.NewPacket(sent[0].frame, layers.LayerTypeEthernet, gopacket.Default)
	ip := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	m, err := dhcpv6.MessageFromBytes(ip.Payload[8:])
	if err != nil {
		t.Fatal(err)
	}
	return outcome, describePD(m)
}

// describePD describes a DHCPv6 reply's type, IA_NA statuses and IA_PDs.
func describePD(m *dhcpv6.Message) string {
	s := m.MessageType.String()
	for _, ia := range m.Options.IANA() {
		s += fmt.Sprintf(" ia_na=%x", ia.IaId)
		for _, a := range ia.Options.Addresses() {
			s += " addr=" + a.IPv6Addr.String()
		}
		if st := ia.Options.Status(); st != nil {
			s += " status=" + st.StatusCode.String()
		}
	}
	for _, pd := range m.Options.IAPD() {
		s += fmt.Sprintf(" ia_pd=%x/T1=%v/T2=%v", pd.IaId, pd.T1, pd.T2)
		for _, p := range pd.Options.Prefixes() {
			s += fmt.Sprintf(" prefix=%s/%v/%v", p.Prefix, p.PreferredLifetime, p.ValidLifetime)
		}
		if st := pd.Options.Status(); st != nil {
			s += " status=" + st.StatusCode.String()
		}
	}
	return s
}

// v6DHCPPacket wraps msg into the IPv6/UDP packet of the dhclient
// solicit fixture, fixing both lengths (checksums are not verified).
func v6DHCPPacket(t *testing.T, msg *dhcpv6.Message) []byte {
	t.Helper()
	fixture := v6Fixture(t, "dhclient-solicit.bin")
	body := msg.ToBytes()
	p := append(append([]byte(nil), fixture[:48]...), body...)
	binary.BigEndian.PutUint16(p[4:6], uint16(8+len(body)))
	binary.BigEndian.PutUint16(p[44:46], uint16(8+len(body)))
	return p
}

func pdMessage(t *testing.T, typ dhcpv6.MessageType, withServer bool, held ...string) *dhcpv6.Message {
	t.Helper()
	m := &dhcpv6.Message{MessageType: typ, TransactionID: dhcpv6.TransactionID{1, 2, 3}}
	m.AddOption(dhcpv6.OptClientID(&dhcpv6.DUIDLL{HWType: 1, LinkLayerAddr: v6VMMAC}))
	if withServer {
		m.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDLL{HWType: 1, LinkLayerAddr: v6IndevMAC}))
	}
	pd := &dhcpv6.OptIAPD{IaId: [4]byte{0, 0, 0, 7}}
	for _, h := range held {
		p := netip.MustParsePrefix(h)
		pd.Options.Add(&dhcpv6.OptIAPrefix{Prefix: prefixNet(p)})
	}
	m.AddOption(pd)
	m.AddOption(&dhcpv6.OptIAPD{IaId: [4]byte{0, 0, 0, 8}})
	return m
}

func TestPrefixDelegationReplies(t *testing.T) {
	delegating := func() *binding.Active {
		a := v6Binding()
		a.Delegated6 = []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56")}
		return a
	}
	const pd = " ia_pd=00000007/T1=1h0m0s/T2=21h0m0s prefix=2001:db8:100::/56/24h0m0s/24h0m0s ia_pd=00000008/T1=0s/T2=0s status=NoPrefixAvail"
	tests := []struct {
		name    string
		a       *binding.Active
		mode    responder.IPv6Mode
		msg     *dhcpv6.Message
		want    responder.Outcome
		wantMsg string
	}{
		{"solicit in dhcpv6 mode", delegating(), responder.ModeDHCPv6, pdMessage(t, dhcpv6.MessageTypeSolicit, false), responder.OutcomeAnswered, "ADVERTISE" + pd},
		{"solicit in slaac+dhcpv6 mode", delegating(), responder.ModeSLAACDHCPv6, pdMessage(t, dhcpv6.MessageTypeSolicit, false), responder.OutcomeAnswered, "ADVERTISE" + pd},
		{"request", delegating(), responder.ModeSLAACDHCPv6, pdMessage(t, dhcpv6.MessageTypeRequest, true), responder.OutcomeAnswered, "REPLY" + pd},
		{"renew keeps the prefix and drops another", delegating(), responder.ModeDHCPv6,
			pdMessage(t, dhcpv6.MessageTypeRenew, true, "2001:db8:100::/56", "2001:db8:999::/56"), responder.OutcomeAnswered,
			"REPLY ia_pd=00000007/T1=1h0m0s/T2=21h0m0s prefix=2001:db8:100::/56/24h0m0s/24h0m0s prefix=2001:db8:999::/56/0s/0s ia_pd=00000008/T1=0s/T2=0s status=NoPrefixAvail"},
		{"rebind", delegating(), responder.ModeSLAACDHCPv6, pdMessage(t, dhcpv6.MessageTypeRebind, false, "2001:db8:100::/56"), responder.OutcomeAnswered, "REPLY" + pd},
		{"slaac mode runs no DHCPv6", delegating(), responder.ModeSLAAC, pdMessage(t, dhcpv6.MessageTypeSolicit, false), responder.OutcomeIgnored, ""},
		// Without DELEGATED6 the wire stays as it was: IA_PD unanswered,
		// and slaac+dhcpv6 answers Information-Request only.
		{"no DELEGATED6 in dhcpv6 mode", v6Binding(), responder.ModeDHCPv6, pdMessage(t, dhcpv6.MessageTypeSolicit, false), responder.OutcomeAnswered, "ADVERTISE"},
		{"no DELEGATED6 in slaac+dhcpv6 mode", v6Binding(), responder.ModeSLAACDHCPv6, pdMessage(t, dhcpv6.MessageTypeSolicit, false), responder.OutcomeIgnored, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := addrRun(t, tc.a, tc.mode, responder.KindDHCPv6, v6DHCPPacket(t, tc.msg))
			if got != tc.want || msg != tc.wantMsg {
				t.Errorf("outcome %v reply %q, want %v %q", got, msg, tc.want, tc.wantMsg)
			}
		})
	}
	// An IA_NA next to the IA_PD in slaac+dhcpv6 mode gets no address.
	m := pdMessage(t, dhcpv6.MessageTypeSolicit, false)
	m.AddOption(&dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}})
	if _, msg := addrRun(t, delegating(), responder.ModeSLAACDHCPv6, responder.KindDHCPv6, v6DHCPPacket(t, m)); !strings.Contains(msg, "ia_na=00000001 status=NoAddrsAvail") || !strings.Contains(msg, "2001:db8:100::/56") {
		t.Errorf("IA_NA and IA_PD in slaac+dhcpv6 mode: %q", msg)
	}
}

func TestAddressesNeighborSolicitations(t *testing.T) {
	ns := func(target string) []byte { return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes(target)) }
	a := v6Binding()
	a.IPs6 = []netip.Addr{netip.MustParseAddr("2001:db8:1::11")}
	a.Prefix6 = netip.MustParsePrefix("2001:db8:2:1::/64")
	for _, tc := range []struct {
		target string
		want   responder.Outcome
	}{
		{"2001:db8:1::11", responder.OutcomeIgnored},       // IPS6: the VM's, its DAD works
		{"2001:db8:2:1:abcd::1", responder.OutcomeIgnored}, // inside PREFIX6: left to the VM
		{"2001:db8:1::77", responder.OutcomeAnswered},      // another address of SUBNET6: the host's
		{"2001:db8:1::1", responder.OutcomeAnswered},       // the gateway
	} {
		if got, _ := addrRun(t, a, responder.ModeSLAAC, responder.KindNS, ns(tc.target)); got != tc.want {
			t.Errorf("NS for %s: %v, want %v", tc.target, got, tc.want)
		}
	}
}

func TestPrefixPerVMAdvertisement(t *testing.T) {
	rs := v6Fixture(t, "rdisc6-rs.bin")
	a := v6Binding()
	a.Prefix6 = netip.MustParsePrefix("2001:db8:2:1::/64")
	for _, mode := range []responder.IPv6Mode{responder.ModeSLAAC, responder.ModeDHCPv6} {
		_, msg := addrRun(t, a, mode, responder.KindRS, rs)
		if !strings.Contains(msg, "prefix=2001:db8:2:1::/64 L=true A=true") || strings.Contains(msg, "2001:db8:1::/64") {
			t.Errorf("mode %v: RA %q, want PREFIX6 with A=1 and not SUBNET6", mode, msg)
		}
	}
	// A binding with PREFIX6 only (no SUBNET6) still gets its RA.
	a.Subnet6, a.EUI64, a.Gateway6 = netip.Prefix{}, netip.Addr{}, netip.Addr{}
	if _, msg := addrRun(t, a, responder.ModeSLAAC, responder.KindRS, rs); !strings.Contains(msg, "prefix=2001:db8:2:1::/64 L=true A=true") {
		t.Errorf("PREFIX6-only RA %q", msg)
	}
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)}
}
