package packets_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

func TestDecodeDHCPv6(t *testing.T) {
	solicit := v6ReadFixture(t, "dhclient-solicit.bin")
	type result struct {
		Src       netip.Addr
		Type      string
		ClientMAC string
	}
	tests := []struct {
		name    string
		in      []byte
		want    result
		wantErr string
	}{
		{name: "dhclient information-request", in: v6ReadFixture(t, "dhclient-information-request.bin"), want: result{v6VMLL, "INFORMATION-REQUEST", "52:54:00:12:34:56"}},
		{name: "dhclient solicit", in: solicit, want: result{v6VMLL, "SOLICIT", "52:54:00:12:34:56"}},
		{name: "dhclient request", in: v6ReadFixture(t, "dhclient-request.bin"), want: result{v6VMLL, "REQUEST", "52:54:00:12:34:56"}},
		{name: "dhclient confirm", in: v6ReadFixture(t, "dhclient-confirm.bin"), want: result{v6VMLL, "CONFIRM", "52:54:00:12:34:56"}},
		{name: "dhclient release", in: v6ReadFixture(t, "dhclient-release.bin"), want: result{v6VMLL, "RELEASE", "52:54:00:12:34:56"}},
		{name: "dhcpcd solicit", in: v6ReadFixture(t, "dhcpcd-solicit.bin"), want: result{v6VMLL, "SOLICIT", "52:54:00:12:34:56"}},
		{name: "dhcpcd request", in: v6ReadFixture(t, "dhcpcd-request.bin"), want: result{v6VMLL, "REQUEST", "52:54:00:12:34:56"}},
		{name: "dhcpcd renew", in: v6ReadFixture(t, "dhcpcd-renew.bin"), want: result{v6VMLL, "RENEW", "52:54:00:12:34:56"}},
		{name: "dhcpcd rebind", in: v6ReadFixture(t, "dhcpcd-rebind.bin"), want: result{v6VMLL, "REBIND", "52:54:00:12:34:56"}},
		{name: "dhcpcd confirm", in: v6ReadFixture(t, "dhcpcd-confirm.bin"), want: result{v6VMLL, "CONFIRM", "52:54:00:12:34:56"}},
		{name: "dhcpcd release", in: v6ReadFixture(t, "dhcpcd-release.bin"), want: result{v6VMLL, "RELEASE", "52:54:00:12:34:56"}},
		{name: "hop-by-hop header", in: v6WithExtHeader(solicit, 0), want: result{v6VMLL, "SOLICIT", "52:54:00:12:34:56"}},
		{name: "router solicitation", in: v6ReadFixture(t, "rdisc6-rs.bin"), wantErr: "malformed"},
		{name: "to the client port", in: v6Mutate(solicit, func(b []byte) []byte { b[43] = 34; return b }), wantErr: "malformed"},
		{name: "UDP length too long", in: v6Mutate(solicit, func(b []byte) []byte { b[45]++; return b }), wantErr: "malformed"},
		{name: "UDP length too short", in: v6Mutate(solicit, func(b []byte) []byte { b[44], b[45] = 0, 7; return b }), wantErr: "malformed"},
		{name: "truncated UDP header", in: v6Mutate(solicit, func(b []byte) []byte { b[4], b[5] = 0, 4; return b[:44] }), wantErr: "malformed"},
		{name: "short message", in: v6Mutate(solicit, func(b []byte) []byte { b[5], b[45] = 11, 11; return b[:51] }), wantErr: "malformed"},
		{name: "truncated option", in: v6Mutate(solicit, func(b []byte) []byte { b[5]--; b[45]--; return b[:len(b)-1] }), wantErr: "malformed"},
		{name: "from ::", in: v6Mutate(solicit, func(b []byte) []byte { clear(b[8:24]); return b }), wantErr: "malformed"},
		{name: "relay-forward", in: v6Mutate(solicit, func(b []byte) []byte { b[48] = 12; return b }), wantErr: "unsupported"},
		{name: "advertise", in: v6Mutate(solicit, func(b []byte) []byte { b[48] = 2; return b }), wantErr: "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := packets.DecodeDHCPv6(tt.in)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			got := result{req.Src, req.Msg.MessageType.String(), req.ClientMAC().String()}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("DecodeDHCPv6 (-want +got):\n%s", diff)
			}
		})
	}
}

// v6DHCPParams are the parameters of the reply tests and golden frames.
func v6DHCPParams() packets.DHCPv6Params {
	return packets.DHCPv6Params{
		ServerMAC:         v6RouterMAC,
		ClientMAC:         v6VMMAC,
		Address:           v6VMEUI64,
		OnLink:            v6Prefix,
		T1:                600 * time.Second,
		T2:                529200 * time.Second,
		PreferredLifetime: 604800 * time.Second,
		ValidLifetime:     604800*time.Second + 500*time.Millisecond,
		DNS:               []netip.Addr{netip.MustParseAddr("2001:db8::53"), netip.MustParseAddr("2001:db8::54")},
		Domains:           []string{"example.org", "vm.example.org"},
	}
}

// A v6Reply is a DHCPv6 reply reduced to what the tests check.
type v6Reply struct {
	Type        string
	ClientID    string
	ServerID    string
	Preference  int // -1 when absent
	RapidCommit bool
	IANAs       []string
	Status      string
	DNS         []string
	Domains     []string
}

func v6SummariseReply(t *testing.T, m *dhcpv6.Message) v6Reply {
	t.Helper()
	r := v6Reply{Type: m.MessageType.String(), Preference: -1}
	if cid := m.Options.ClientID(); cid != nil {
		r.ClientID = cid.String()
	}
	if sid := m.Options.ServerID(); sid != nil {
		r.ServerID = sid.String()
	}
	if m.GetOneOption(dhcpv6.OptionPreference) != nil {
		r.Preference = int(m.Options.Preference())
	}
	r.RapidCommit = m.GetOneOption(dhcpv6.OptionRapidCommit) != nil
	for _, ia := range m.Options.IANA() {
		s := fmt.Sprintf("%x T1=%v T2=%v", ia.IaId, ia.T1, ia.T2)
		for _, a := range ia.Options.Addresses() {
			s += fmt.Sprintf(" %v/%v/%v", a.IPv6Addr, a.PreferredLifetime, a.ValidLifetime)
		}
		if st := ia.Options.Status(); st != nil {
			s += " " + st.StatusCode.String()
		}
		r.IANAs = append(r.IANAs, s)
	}
	if st := m.Options.Status(); st != nil {
		r.Status = st.StatusCode.String()
	}
	for _, ip := range m.Options.DNS() {
		r.DNS = append(r.DNS, ip.String())
	}
	if l := m.Options.DomainSearchList(); l != nil {
		r.Domains = l.Labels
	}
	return r
}

func TestBuildDHCPv6Reply(t *testing.T) {
	const (
		dhclientID = "DUID-LLT{HWType=Ethernet HWAddr=52:54:00:12:34:56 Time=848963879}"
		dhcpcdID   = "DUID-LLT{HWType=Ethernet HWAddr=52:54:00:12:34:56 Time=848963854}"
		serverID   = "DUID-LL{HWType=Ethernet HWAddr=02:00:00:00:00:01}"
		leased     = "2001:db8:1:0:5054:ff:fe12:3456/168h0m0s/168h0m0s"
	)
	dns := []string{"2001:db8::53", "2001:db8::54"}
	domains := []string{"example.org", "vm.example.org"}
	withRapidCommit := func(m *dhcpv6.Message) { dhcpv6.WithRapidCommit(m) }
	tests := []struct {
		name    string
		fixture string
		change  func(*dhcpv6.Message)
		params  func(*packets.DHCPv6Params)
		want    v6Reply
		wantErr string
	}{
		{
			name: "dhclient information-request", fixture: "dhclient-information-request.bin",
			want: v6Reply{Type: "REPLY", ClientID: "DUID-LL{HWType=Ethernet HWAddr=52:54:00:12:34:56}", ServerID: serverID, Preference: -1, DNS: dns, Domains: domains},
		},
		{
			name: "information-request without client identifier", fixture: "dhclient-information-request.bin",
			change: func(m *dhcpv6.Message) { m.Options.Del(dhcpv6.OptionClientID) },
			params: func(p *packets.DHCPv6Params) { p.Domains = nil },
			want:   v6Reply{Type: "REPLY", ServerID: serverID, Preference: -1, DNS: dns},
		},
		{
			name: "information-request for another server", fixture: "dhclient-information-request.bin",
			change: func(m *dhcpv6.Message) {
				m.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: v6VMMAC}))
			},
			wantErr: "noreply",
		},
		{
			name: "dhclient solicit", fixture: "dhclient-solicit.bin",
			want: v6Reply{Type: "ADVERTISE", ClientID: dhclientID, ServerID: serverID, Preference: 255,
				IANAs: []string{"00123456 T1=10m0s T2=147h0m0s " + leased}, DNS: dns, Domains: domains},
		},
		{
			name: "solicit with rapid commit", fixture: "dhcpcd-solicit.bin", change: withRapidCommit,
			want: v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1, RapidCommit: true,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s " + leased}, DNS: dns, Domains: domains},
		},
		{
			name: "solicit with two IA_NA", fixture: "dhcpcd-solicit.bin",
			change: func(m *dhcpv6.Message) { m.AddOption(&dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 2}}) },
			params: func(p *packets.DHCPv6Params) { p.DNS, p.Domains = nil, nil },
			want: v6Reply{Type: "ADVERTISE", ClientID: dhcpcdID, ServerID: serverID, Preference: 255,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s " + leased, "00000002 T1=0s T2=0s NoAddrsAvail"}},
		},
		{
			name: "solicit without address to give", fixture: "dhclient-solicit.bin",
			params: func(p *packets.DHCPv6Params) { p.Address = netip.Addr{} },
			want: v6Reply{Type: "ADVERTISE", ClientID: dhclientID, ServerID: serverID, Preference: 255,
				IANAs: []string{"00123456 T1=0s T2=0s NoAddrsAvail"}, DNS: dns, Domains: domains},
		},
		{
			name: "solicit naming a server", fixture: "dhclient-solicit.bin",
			change: func(m *dhcpv6.Message) {
				m.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: v6RouterMAC}))
			},
			wantErr: "noreply",
		},
		{
			name: "solicit without client identifier", fixture: "dhclient-solicit.bin",
			change:  func(m *dhcpv6.Message) { m.Options.Del(dhcpv6.OptionClientID) },
			wantErr: "noreply",
		},
		{
			name: "dhclient request for another address gets the EUI-64", fixture: "dhclient-request.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhclientID, ServerID: serverID, Preference: -1,
				IANAs: []string{"00123456 T1=10m0s T2=147h0m0s " + leased}, DNS: dns, Domains: domains},
		},
		{
			name: "request for another server", fixture: "dhclient-request.bin",
			params:  func(p *packets.DHCPv6Params) { p.ServerMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2} },
			wantErr: "noreply",
		},
		{
			name: "dhcpcd request", fixture: "dhcpcd-request.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s " + leased}, DNS: dns, Domains: domains},
		},
		{
			name: "dhcpcd renew drops the foreign address", fixture: "dhcpcd-renew.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s " + leased + " 2001:db8:1::146/0s/0s"}, DNS: dns, Domains: domains},
		},
		{
			name: "renew of the EUI-64", fixture: "dhcpcd-renew.bin",
			params: func(p *packets.DHCPv6Params) { p.Address = netip.MustParseAddr("2001:db8:1::146") },
			want: v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s 2001:db8:1::146/168h0m0s/168h0m0s"}, DNS: dns, Domains: domains},
		},
		{
			name: "dhcpcd rebind", fixture: "dhcpcd-rebind.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1,
				IANAs: []string{"00000001 T1=10m0s T2=147h0m0s " + leased + " 2001:db8:1::146/0s/0s"}, DNS: dns, Domains: domains},
		},
		{
			name: "dhclient confirm on-link", fixture: "dhclient-confirm.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhclientID, ServerID: serverID, Preference: -1, Status: "Success"},
		},
		{
			name: "dhcpcd confirm off-link", fixture: "dhcpcd-confirm.bin",
			params: func(p *packets.DHCPv6Params) { p.OnLink = netip.MustParsePrefix("2001:db8:2::/64") },
			want:   v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1, Status: "NotOnLink"},
		},
		{
			name: "confirm without addresses", fixture: "dhclient-confirm.bin",
			change:  func(m *dhcpv6.Message) { m.Options.Del(dhcpv6.OptionIANA) },
			wantErr: "noreply",
		},
		{
			name: "dhclient release", fixture: "dhclient-release.bin",
			want: v6Reply{Type: "REPLY", ClientID: dhclientID, ServerID: serverID, Preference: -1, Status: "Success"},
		},
		{
			name: "decline", fixture: "dhcpcd-release.bin",
			change: func(m *dhcpv6.Message) { m.MessageType = dhcpv6.MessageTypeDecline },
			want:   v6Reply{Type: "REPLY", ClientID: dhcpcdID, ServerID: serverID, Preference: -1, Status: "Success"},
		},
		{
			name: "release without server identifier", fixture: "dhcpcd-release.bin",
			change:  func(m *dhcpv6.Message) { m.Options.Del(dhcpv6.OptionServerID) },
			wantErr: "noreply",
		},
		{
			name: "no client MAC", fixture: "dhclient-solicit.bin",
			params:  func(p *packets.DHCPv6Params) { p.ClientMAC = nil },
			wantErr: "invalid",
		},
		{
			name: "no server MAC", fixture: "dhclient-solicit.bin",
			params:  func(p *packets.DHCPv6Params) { p.ServerMAC = nil },
			wantErr: "invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := packets.DecodeDHCPv6(v6ReadFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("DecodeDHCPv6: %v", err)
			}
			if tt.change != nil {
				tt.change(req.Msg)
			}
			params := v6DHCPParams()
			if tt.params != nil {
				tt.params(&params)
			}
			frame, err := packets.BuildDHCPv6Reply(req, params)
			if diff := cmp.Diff(tt.wantErr, v6ErrClass(err)); diff != "" {
				t.Fatalf("error class (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			d := v6DecodeFrame(t, frame)
			type headers struct {
				SrcMAC, DstMAC   string
				Src, Dst         string
				SrcPort, DstPort int
			}
			wantH := headers{"02:00:00:00:00:01", "52:54:00:12:34:56", v6RouterLL.String(), v6VMLL.String(), 547, 546}
			gotH := headers{d.Eth.SrcMAC.String(), d.Eth.DstMAC.String(), d.IP.SrcIP.String(), d.IP.DstIP.String(), int(d.UDP.SrcPort), int(d.UDP.DstPort)}
			if diff := cmp.Diff(wantH, gotH); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			reply, err := dhcpv6.MessageFromBytes(d.Payload)
			if err != nil {
				t.Fatalf("reply does not decode: %v", err)
			}
			if reply.TransactionID != req.Msg.TransactionID {
				t.Errorf("transaction id %v, want %v", reply.TransactionID, req.Msg.TransactionID)
			}
			if diff := cmp.Diff(tt.want, v6SummariseReply(t, reply)); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}
