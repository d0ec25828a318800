package responder_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// The VM of these tests is the one of the captures in fixtures/ipv6.
var (
	v6VMMAC     = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	v6OtherMAC  = net.HardwareAddr{0x52, 0x54, 0x00, 0x66, 0x66, 0x66}
	v6IndevMAC  = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	v6VMLL      = "fe80::5054:ff:fe12:3456"
	v6RouterLL  = "fe80::ff:fe00:1"
	v6VMEUI64   = "2001:db8:1:0:5054:ff:fe12:3456"
	v6AllNodes  = "ff02::1"
	v6AllNodesM = "33:33:00:00:00:01"
)

const v6TapIndex = 9

type v6Bindings struct{ s *binding.Snapshot }

func (b v6Bindings) Snapshot() *binding.Snapshot { return b.s }

type v6Sent struct {
	ifindex int
	frame   []byte
}

// v6Sender records frames, or fails with err.
type v6Sender struct {
	mu   sync.Mutex
	err  error
	sent []v6Sent
}

func (s *v6Sender) Send(ifindex int, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, v6Sent{ifindex, append([]byte(nil), frame...)})
	return nil
}

func (s *v6Sender) frames() []v6Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]v6Sent(nil), s.sent...)
}

func v6Binding() *binding.Active {
	return &binding.Active{
		Binding: binding.Binding{
			Name: "tap9", Indev: "tap9", MAC: v6VMMAC,
			IP:       netip.MustParseAddr("192.0.2.10"),
			Subnet:   netip.MustParsePrefix("192.0.2.0/24"),
			Subnet6:  netip.MustParsePrefix("2001:db8:1::/64"),
			Gateway6: netip.MustParseAddr("2001:db8:1::1"),
			EUI64:    netip.MustParseAddr(v6VMEUI64),
			MTU:      1450,
		},
		TapIndex: v6TapIndex,
		IndevMAC: v6IndevMAC,
	}
}

func v6Options(mode responder.IPv6Mode) responder.Options {
	return responder.Options{
		LeaseTime:    86400 * time.Second,
		RenewalTime:  3600 * time.Second,
		IPv6:         true,
		Mode:         mode,
		RAPeriod:     300 * time.Second,
		Nameservers6: []netip.Addr{netip.MustParseAddr("2001:db8::53")},
		Domains6:     []string{"example.org"},
	}
}

func v6Fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "ipv6", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v6Patch returns a copy of b with at[off:] overwritten by data.
func v6Patch(b []byte, off int, data []byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], data)
	return c
}

func v6AddrBytes(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

// A v6Reply is what these tests check of a frame the responder sent: the
// headers, and a one-line description of the message.
type v6Reply struct {
	Ifindex        int
	EthSrc, EthDst string
	Src, Dst       string
	Message        string
}

func v6DescribeFrame(t *testing.T, s v6Sent) v6Reply {
	t.Helper()
	pkt := gopacket.NewPacket(s.frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if eth == nil || ip == nil {
		t.Fatalf("sent frame is not Ethernet/IPv6: %v", pkt)
	}
	r := v6Reply{Ifindex: s.ifindex, EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(), Src: ip.SrcIP.String(), Dst: ip.DstIP.String()}
	switch ip.NextHeader {
	case layers.IPProtocolICMPv6:
		m, err := ndp.ParseMessage(ip.Payload)
		if err != nil {
			t.Fatalf("sent ICMPv6 does not parse: %v", err)
		}
		r.Message = v6DescribeND(m)
	case layers.IPProtocolUDP:
		m, err := dhcpv6.MessageFromBytes(ip.Payload[8:])
		if err != nil {
			t.Fatalf("sent DHCPv6 does not parse: %v", err)
		}
		r.Message = v6DescribeDHCPv6(m)
	default:
		t.Fatalf("sent IPv6 next header %v", ip.NextHeader)
	}
	return r
}

func v6DescribeND(m ndp.Message) string {
	switch m := m.(type) {
	case *ndp.RouterAdvertisement:
		s := fmt.Sprintf("RA M=%v O=%v lifetime=%v", m.ManagedConfiguration, m.OtherConfiguration, m.RouterLifetime)
		for _, o := range m.Options {
			switch o := o.(type) {
			case *ndp.LinkLayerAddress:
				s += " sll=" + o.Addr.String()
			case *ndp.MTU:
				s += fmt.Sprintf(" mtu=%d", o.MTU)
			case *ndp.PrefixInformation:
				s += fmt.Sprintf(" prefix=%s/%d L=%v A=%v valid=%v preferred=%v", o.Prefix, o.PrefixLength, o.OnLink, o.AutonomousAddressConfiguration, o.ValidLifetime, o.PreferredLifetime)
			case *ndp.RecursiveDNSServer:
				s += fmt.Sprintf(" rdnss=%v/%v", o.Servers, o.Lifetime)
			case *ndp.DNSSearchList:
				s += fmt.Sprintf(" dnssl=%v/%v", o.DomainNames, o.Lifetime)
			}
		}
		return s
	case *ndp.NeighborAdvertisement:
		s := fmt.Sprintf("NA target=%s R=%v S=%v O=%v", m.TargetAddress, m.Router, m.Solicited, m.Override)
		for _, o := range m.Options {
			if o, ok := o.(*ndp.LinkLayerAddress); ok {
				s += " tll=" + o.Addr.String()
			}
		}
		return s
	}
	return fmt.Sprintf("%T", m)
}

func v6DescribeDHCPv6(m *dhcpv6.Message) string {
	s := m.MessageType.String()
	for _, ia := range m.Options.IANA() {
		s += fmt.Sprintf(" ia=%x/T1=%v/T2=%v", ia.IaId, ia.T1, ia.T2)
		for _, a := range ia.Options.Addresses() {
			s += fmt.Sprintf(" addr=%s/%v/%v", a.IPv6Addr, a.PreferredLifetime, a.ValidLifetime)
		}
	}
	if dns := m.Options.DNS(); len(dns) > 0 {
		s += fmt.Sprintf(" dns=%v", dns)
	}
	if l := m.Options.DomainSearchList(); l != nil {
		s += fmt.Sprintf(" domains=%v", l.Labels)
	}
	return s
}

const (
	v6SlaacRA = "RA M=false O=false lifetime=15m0s sll=02:00:00:00:00:01 mtu=1450 " +
		"prefix=2001:db8:1::/64 L=true A=true valid=24h0m0s preferred=4h0m0s " +
		"rdnss=[2001:db8::53]/15m0s dnssl=[example.org]/15m0s"
	v6StatefulRA = "RA M=true O=true lifetime=15m0s sll=02:00:00:00:00:01 mtu=1450 " +
		"prefix=2001:db8:1::/64 L=true A=false valid=24h0m0s preferred=4h0m0s " +
		"rdnss=[2001:db8::53]/15m0s dnssl=[example.org]/15m0s"
)

func v6ToVM(msg string) *v6Reply {
	return &v6Reply{Ifindex: v6TapIndex, EthSrc: v6IndevMAC.String(), EthDst: v6VMMAC.String(), Src: v6RouterLL, Dst: v6VMLL, Message: msg}
}

// v6NAToVM is a neighbor advertisement for target, sent from the target
// address itself.
func v6NAToVM(target, flags string) *v6Reply {
	r := v6ToVM("NA target=" + target + " " + flags + " tll=02:00:00:00:00:01")
	r.Src = target
	return r
}

func v6ToAll(msg string) *v6Reply {
	return &v6Reply{Ifindex: v6TapIndex, EthSrc: v6IndevMAC.String(), EthDst: v6AllNodesM, Src: v6RouterLL, Dst: v6AllNodes, Message: msg}
}

func TestHandleIPv6(t *testing.T) {
	rdisc6 := func(t *testing.T) []byte { return v6Fixture(t, "rdisc6-rs.bin") }
	tests := []struct {
		name        string
		kind        responder.Kind
		packet      func(t *testing.T) []byte
		hwAddr      net.HardwareAddr // nil: the VM's MAC
		binding     func(*binding.Active)
		mode        responder.IPv6Mode
		opts        func(*responder.Options)
		sendErr     error
		wantOutcome responder.Outcome
		wantReply   *v6Reply
		// wantPrompt: a prompt RA to all nodes goes first (a DAD probe
		// shows the VM coming up).
		wantPrompt bool
	}{
		// Router Solicitations.
		{name: "rdisc6 gets a unicast RA", kind: responder.KindRS, packet: rdisc6,
			wantOutcome: responder.OutcomeAnswered, wantReply: v6ToVM(v6SlaacRA)},
		{name: "dhcpcd gets an RA with M and O in dhcpv6 mode", kind: responder.KindRS, mode: responder.ModeDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-rs.bin") },
			wantOutcome: responder.OutcomeAnswered, wantReply: v6ToVM(v6StatefulRA)},
		{name: "O flag in slaac+dhcpv6 mode", kind: responder.KindRS, packet: rdisc6, mode: responder.ModeSLAACDHCPv6,
			wantOutcome: responder.OutcomeAnswered, wantReply: v6ToVM(strings.Replace(v6SlaacRA, "O=false", "O=true", 1))},
		{name: "private network advertises no router", kind: responder.KindRS, packet: rdisc6,
			binding:     func(a *binding.Active) { a.Private = true },
			wantOutcome: responder.OutcomeAnswered, wantReply: v6ToVM(strings.Replace(v6SlaacRA, "lifetime=15m0s", "lifetime=0s", 1))},
		{name: "no MTU, no DNS, long period", kind: responder.KindRS, packet: rdisc6,
			binding: func(a *binding.Active) { a.MTU = 0 },
			opts: func(o *responder.Options) {
				o.Nameservers6, o.Domains6, o.RAPeriod = nil, nil, 2*time.Hour
			},
			wantOutcome: responder.OutcomeAnswered,
			wantReply: v6ToVM("RA M=false O=false lifetime=2h30m0s sll=02:00:00:00:00:01 " +
				"prefix=2001:db8:1::/64 L=true A=true valid=24h0m0s preferred=6h0m0s")},
		{name: "RS from :: gets a multicast RA", kind: responder.KindRS,
			packet:      func(t *testing.T) []byte { return v6Patch(rdisc6(t), 8, make([]byte, 16)) },
			wantOutcome: responder.OutcomeAnswered, wantReply: v6ToAll(v6SlaacRA)},
		{name: "IPv4-only binding", kind: responder.KindRS, packet: rdisc6,
			binding:     func(a *binding.Active) { a.Subnet6, a.EUI64 = netip.Prefix{}, netip.Addr{} },
			wantOutcome: responder.OutcomeIgnored},
		{name: "IPv6 disabled", kind: responder.KindRS, packet: rdisc6,
			opts:        func(o *responder.Options) { o.IPv6 = false },
			wantOutcome: responder.OutcomeIgnored},
		{name: "RS from another MAC", kind: responder.KindRS, packet: rdisc6, hwAddr: v6OtherMAC,
			wantOutcome: responder.OutcomeSpoofed},
		{name: "RS claiming another link-layer address", kind: responder.KindRS,
			packet:      func(t *testing.T) []byte { return v6Patch(v6Fixture(t, "dhcpcd-rs.bin"), 50, v6OtherMAC) },
			wantOutcome: responder.OutcomeSpoofed},
		{name: "RS from another MAC with MACSPOOF", kind: responder.KindRS, packet: rdisc6, hwAddr: v6OtherMAC,
			binding:     func(a *binding.Active) { a.MACSpoof = true },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   &v6Reply{Ifindex: v6TapIndex, EthSrc: v6IndevMAC.String(), EthDst: v6OtherMAC.String(), Src: v6RouterLL, Dst: v6VMLL, Message: v6SlaacRA}},
		{name: "malformed RS", kind: responder.KindRS,
			packet:      func(t *testing.T) []byte { return v6Patch(rdisc6(t), 7, []byte{64}) },
			wantOutcome: responder.OutcomeMalformed},
		{name: "send failure", kind: responder.KindRS, packet: rdisc6, sendErr: errors.New("tap gone"),
			wantOutcome: responder.OutcomeError},

		// Neighbor Solicitations.
		{name: "ndisc6 resolves the gateway", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "ndisc6-ns.bin") },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6NAToVM("2001:db8:1::1", "R=true S=true O=true")},
		{name: "dhcpcd resolves the router's link-local address", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-ns.bin") },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6NAToVM("fe80::ff:fe00:1", "R=true S=true O=true")},
		{name: "another address of the prefix is the host's", kind: responder.KindNS,
			packet: func(t *testing.T) []byte {
				return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes("2001:db8:1::77"))
			},
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6NAToVM("2001:db8:1::77", "R=true S=true O=true")},
		{name: "gateway outside the prefix", kind: responder.KindNS,
			packet: func(t *testing.T) []byte {
				return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes("2001:db8:ff::1"))
			},
			binding:     func(a *binding.Active) { a.Gateway6 = netip.MustParseAddr("2001:db8:ff::1") },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6NAToVM("2001:db8:ff::1", "R=true S=true O=true")},
		{name: "target outside the prefix", kind: responder.KindNS,
			packet: func(t *testing.T) []byte {
				return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes("2001:db8:2::1"))
			},
			wantOutcome: responder.OutcomeIgnored},
		{name: "the VM's own link-local address", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes(v6VMLL)) },
			wantOutcome: responder.OutcomeIgnored},
		{name: "the VM's own address", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 48, v6AddrBytes(v6VMEUI64)) },
			wantOutcome: responder.OutcomeIgnored},
		{name: "DAD for the VM's own address is never answered", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "kernel-ns-dad.bin") },
			wantOutcome: responder.OutcomeIgnored, wantPrompt: true},
		{name: "DAD for a host address is answered to all nodes", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-ns-dad.bin") },
			wantOutcome: responder.OutcomeAnswered, wantPrompt: true,
			wantReply: &v6Reply{Ifindex: v6TapIndex, EthSrc: v6IndevMAC.String(), EthDst: v6AllNodesM, Src: "2001:db8:1::146", Dst: v6AllNodes,
				Message: "NA target=2001:db8:1::146 R=true S=false O=true tll=02:00:00:00:00:01"}},
		{name: "NS from another MAC", kind: responder.KindNS, hwAddr: v6OtherMAC,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "ndisc6-ns.bin") },
			wantOutcome: responder.OutcomeSpoofed},
		{name: "NS on an IPv4-only binding", kind: responder.KindNS,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-ns.bin") },
			binding:     func(a *binding.Active) { a.Subnet6, a.EUI64, a.Gateway6 = netip.Prefix{}, netip.Addr{}, netip.Addr{} },
			wantOutcome: responder.OutcomeIgnored},

		// DHCPv6.
		{name: "information-request in slaac mode", kind: responder.KindDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-information-request.bin") },
			wantOutcome: responder.OutcomeIgnored},
		{name: "information-request in slaac+dhcpv6 mode", kind: responder.KindDHCPv6, mode: responder.ModeSLAACDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-information-request.bin") },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6ToVM("REPLY dns=[2001:db8::53] domains=[example.org]")},
		{name: "solicit in slaac+dhcpv6 mode", kind: responder.KindDHCPv6, mode: responder.ModeSLAACDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-solicit.bin") },
			wantOutcome: responder.OutcomeIgnored},
		{name: "solicit in dhcpv6 mode", kind: responder.KindDHCPv6, mode: responder.ModeDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-solicit.bin") },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6ToVM("ADVERTISE ia=00123456/T1=1h0m0s/T2=21h0m0s addr=" + v6VMEUI64 + "/24h0m0s/24h0m0s dns=[2001:db8::53] domains=[example.org]")},
		{name: "request in dhcpv6 mode with default lease", kind: responder.KindDHCPv6, mode: responder.ModeDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-request.bin") },
			opts:        func(o *responder.Options) { o.LeaseTime, o.RenewalTime, o.Nameservers6, o.Domains6 = 0, 0, nil, nil },
			wantOutcome: responder.OutcomeAnswered,
			wantReply:   v6ToVM("REPLY ia=00000001/T1=10m0s/T2=147h0m0s addr=" + v6VMEUI64 + "/168h0m0s/168h0m0s")},
		{name: "request for another server", kind: responder.KindDHCPv6, mode: responder.ModeDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhcpcd-request.bin") },
			binding:     func(a *binding.Active) { a.IndevMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2} },
			wantOutcome: responder.OutcomeIgnored},
		{name: "DHCPv6 from another MAC", kind: responder.KindDHCPv6, mode: responder.ModeDHCPv6, hwAddr: v6OtherMAC,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-solicit.bin") },
			wantOutcome: responder.OutcomeSpoofed},
		{name: "truncated DHCPv6", kind: responder.KindDHCPv6, mode: responder.ModeDHCPv6,
			packet:      func(t *testing.T) []byte { return v6Fixture(t, "dhclient-solicit.bin")[:50] },
			wantOutcome: responder.OutcomeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := v6Binding()
			if tt.binding != nil {
				tt.binding(a)
			}
			o := v6Options(tt.mode)
			if tt.opts != nil {
				tt.opts(&o)
			}
			sender := &v6Sender{err: tt.sendErr}
			r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
			hw := tt.hwAddr
			if hw == nil {
				hw = v6VMMAC
			}
			v := r.Handler(tt.kind)(&responder.Packet{ID: 1, InIndex: v6TapIndex, HwAddr: hw, Payload: tt.packet(t)})
			if v != responder.Drop {
				t.Errorf("verdict %v, want drop", v)
			}
			if got := r.Stats.Get(tt.kind, tt.wantOutcome); got != 1 {
				t.Errorf("outcome %v counted %d times, want 1", tt.wantOutcome, got)
			}
			var got *v6Reply
			sent := sender.frames()
			if tt.wantPrompt {
				if len(sent) == 0 || v6DescribeFrame(t, sent[0]) != *v6ToAll(v6SlaacRA) {
					t.Fatalf("no prompt RA to all nodes first: %d frames", len(sent))
				}
				sent = sent[1:]
			}
			switch len(sent) {
			case 0:
			case 1:
				d := v6DescribeFrame(t, sent[0])
				got = &d
			default:
				t.Fatalf("%d frames sent, want at most 1", len(sent))
			}
			if diff := cmp.Diff(tt.wantReply, got); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandleIPv6UnknownTAP(t *testing.T) {
	sender := &v6Sender{}
	r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{v6Binding()})}, sender, v6Options(responder.ModeDHCPv6), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, k := range []responder.Kind{responder.KindRS, responder.KindNS, responder.KindDHCPv6} {
		v := r.Handler(k)(&responder.Packet{ID: 1, InIndex: v6TapIndex + 1, HwAddr: v6VMMAC, Payload: v6Fixture(t, "rdisc6-rs.bin")})
		if v != responder.Accept {
			t.Errorf("%v: verdict %v on an unbound TAP, want accept", k, v)
		}
		if got := r.Stats.Get(k, responder.OutcomeUnknownTAP); got != 1 {
			t.Errorf("%v: unknown TAP counted %d times, want 1", k, got)
		}
	}
	if n := len(sender.frames()); n != 0 {
		t.Errorf("%d frames sent for an unbound TAP", n)
	}
}

// TestPromptRAPacing checks the advertisement a VM's DAD probe triggers:
// one to all nodes at the first probe, none for the probes right after it,
// none when the binding has no IPv6 mode.
func TestPromptRAPacing(t *testing.T) {
	for _, tt := range []struct {
		mode       responder.IPv6Mode
		wantPrompt int
	}{{responder.ModeSLAAC, 1}, {responder.ModeNone, 0}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			sender := &v6Sender{}
			r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{v6Binding()})}, sender, v6Options(tt.mode), slog.New(slog.NewTextHandler(io.Discard, nil)))
			handle := r.Handler(responder.KindNS)
			for range 3 {
				handle(&responder.Packet{InIndex: v6TapIndex, HwAddr: v6VMMAC, Payload: v6Fixture(t, "kernel-ns-dad.bin")})
			}
			prompts := 0
			for _, f := range sender.frames() {
				if d := v6DescribeFrame(t, f); strings.HasPrefix(d.Message, "RA ") {
					if d != *v6ToAll(v6SlaacRA) {
						t.Errorf("prompt RA %+v, want %+v", d, *v6ToAll(v6SlaacRA))
					}
					prompts++
				}
			}
			if prompts != tt.wantPrompt {
				t.Errorf("%d prompt RAs for 3 DAD probes, want %d", prompts, tt.wantPrompt)
			}
		})
	}
}
