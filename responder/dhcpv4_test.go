package responder_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// dhcpv4Bindings is a fixed binding table.
type dhcpv4Bindings struct{ s *binding.Snapshot }

func (b dhcpv4Bindings) Snapshot() *binding.Snapshot { return b.s }

// dhcpv4Sent is one frame a dhcpv4Sender was asked to write.
type dhcpv4Sent struct {
	ifindex int
	frame   []byte
}

// dhcpv4Sender records the frames it is given, or fails with err.
type dhcpv4Sender struct {
	mu   sync.Mutex
	err  error
	sent []dhcpv4Sent
}

func (s *dhcpv4Sender) Send(ifindex int, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, dhcpv4Sent{ifindex, append([]byte(nil), frame...)})
	return nil
}

var (
	dhcpv4VMMAC    = net.HardwareAddr{0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}
	dhcpv4OtherMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x66, 0x66, 0x66}
	dhcpv4TapMAC   = net.HardwareAddr{0xfe, 0x54, 0x00, 0xaa, 0xbb, 0xcc}
)

const dhcpv4TapIndex = 7

// dhcpv4Binding is the bound VM of these tests: 192.0.2.10 in a /24 with
// its gateway, on TAP index 7.
func dhcpv4Binding() *binding.Active {
	return &binding.Active{
		Binding: binding.Binding{
			Name: "tap7", Indev: "tap7", MAC: dhcpv4VMMAC,
			IP:       netip.MustParseAddr("192.0.2.10"),
			Hostname: "vm7.example.net",
			Subnet:   netip.MustParsePrefix("192.0.2.0/24"),
			Gateway:  netip.MustParseAddr("192.0.2.1"),
			MTU:      1450,
		},
		TapIndex: dhcpv4TapIndex,
		IndevMAC: dhcpv4TapMAC,
	}
}

func dhcpv4Options() responder.Options {
	return responder.Options{
		LeaseTime:   604800 * time.Second,
		RenewalTime: 600 * time.Second,
		ServerIP:    netip.MustParseAddr("198.51.100.1"),
		Nameservers: []netip.Addr{netip.MustParseAddr("198.51.100.53")},
	}
}

// dhcpv4Request returns the IPv4 datagram of a request of type typ from
// the VM, as NFQUEUE would hand it over.
func dhcpv4Request(t testing.TB, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) []byte {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{1, 2, 3, 4}),
		dhcpv4.WithHwAddr(dhcpv4VMMAC),
		dhcpv4.WithMessageType(typ),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4zero, DstIP: net.IPv4bcast}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload(m.ToBytes())); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A dhcpv4Reply is what these tests check of a frame the responder sent.
type dhcpv4Reply struct {
	Ifindex        int
	EthSrc, EthDst string
	IPSrc, IPDst   string
	Type           string
	YIAddr         string
	ServerID       string
	Router         string
	Hostname       string
	Domain         string
	T1, T2, Lease  time.Duration
	MTU            string
}

func decodeDHCPv4Reply(t *testing.T, s dhcpv4Sent) dhcpv4Reply {
	t.Helper()
	var (
		eth     layers.Ethernet
		ip      layers.IPv4
		udp     layers.UDP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip, &udp, &payload)
	parser.IgnoreUnsupported = true
	var decoded []gopacket.LayerType
	if err := parser.DecodeLayers(s.frame, &decoded); err != nil || len(decoded) < 3 {
		t.Fatalf("reply frame does not decode (layers %v): %v", decoded, err)
	}
	m, err := dhcpv4.FromBytes(udp.Payload)
	if err != nil {
		t.Fatalf("reply DHCP message: %v", err)
	}
	r := dhcpv4Reply{
		Ifindex: s.ifindex,
		EthSrc:  eth.SrcMAC.String(), EthDst: eth.DstMAC.String(),
		IPSrc: ip.SrcIP.String(), IPDst: ip.DstIP.String(),
		Type: m.MessageType().String(), YIAddr: m.YourIPAddr.String(),
		ServerID: m.ServerIdentifier().String(),
		Hostname: m.HostName(), Domain: m.DomainName(),
		Lease: m.IPAddressLeaseTime(0), T1: m.IPAddressRenewalTime(0), T2: m.IPAddressRebindingTime(0),
	}
	if mtu := m.GetOneOption(dhcpv4.OptionInterfaceMTU); mtu != nil {
		r.MTU = fmt.Sprintf("%x", mtu)
	}
	if rs := m.Router(); len(rs) > 0 {
		r.Router = rs[0].String()
	}
	return r
}

// offerFromGateway is the OFFER the bound VM gets with dhcpv4Options.
func offerFromGateway() dhcpv4Reply {
	return dhcpv4Reply{
		Ifindex: dhcpv4TapIndex,
		EthSrc:  dhcpv4TapMAC.String(), EthDst: dhcpv4VMMAC.String(),
		IPSrc: "198.51.100.1", IPDst: "192.0.2.10",
		Type: "OFFER", YIAddr: "192.0.2.10", ServerID: "198.51.100.1",
		Router: "192.0.2.1", Hostname: "vm7.example.net", Domain: "example.net",
		Lease: 604800 * time.Second, T1: 600 * time.Second, T2: 529200 * time.Second,
		MTU: "05aa", // 1450
	}
}

func TestHandleDHCPv4(t *testing.T) {
	requested := func(ip string) dhcpv4.Modifier {
		return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))
	}
	tests := []struct {
		name        string
		binding     func(*binding.Active) // nil: as dhcpv4Binding
		opts        func(*responder.Options)
		packet      func(t *testing.T) []byte
		inIndex     int // 0: the binding's TAP
		hwAddr      net.HardwareAddr
		sendErr     error
		wantVerdict responder.Verdict
		wantOutcome responder.Outcome
		wantReply   func() dhcpv4Reply // nil: no reply
	}{{
		name:        "discover gets an offer",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		hwAddr:      dhcpv4VMMAC,
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: offerFromGateway,
	}, {
		name:        "request for the bound address gets an ack",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeRequest, requested("192.0.2.10")) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply { r := offerFromGateway(); r.Type = "ACK"; return r },
	}, {
		name: "renewal names the address in ciaddr",
		packet: func(t *testing.T) []byte {
			return dhcpv4Request(t, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(net.ParseIP("192.0.2.10")))
		},
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply { r := offerFromGateway(); r.Type = "ACK"; return r },
	}, {
		name:        "request for another address gets a nak",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeRequest, requested("192.0.2.99")) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeNAK,
		wantReply: func() dhcpv4Reply {
			return dhcpv4Reply{
				Ifindex: dhcpv4TapIndex, EthSrc: dhcpv4TapMAC.String(), EthDst: "ff:ff:ff:ff:ff:ff",
				IPSrc: "198.51.100.1", IPDst: "255.255.255.255",
				Type: "NAK", YIAddr: "0.0.0.0", ServerID: "198.51.100.1",
			}
		},
	}, {
		name:        "request naming no address gets a nak",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeRequest) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeNAK,
		wantReply: func() dhcpv4Reply {
			return dhcpv4Reply{
				Ifindex: dhcpv4TapIndex, EthSrc: dhcpv4TapMAC.String(), EthDst: "ff:ff:ff:ff:ff:ff",
				IPSrc: "198.51.100.1", IPDst: "255.255.255.255",
				Type: "NAK", YIAddr: "0.0.0.0", ServerID: "198.51.100.1",
			}
		},
	}, {
		name: "inform gets configuration without address",
		packet: func(t *testing.T) []byte {
			return dhcpv4Request(t, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.ParseIP("192.0.2.10")))
		},
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply {
			r := offerFromGateway()
			r.Type, r.YIAddr, r.Lease, r.T1, r.T2 = "ACK", "0.0.0.0", 0, 0, 0
			return r
		},
	}, {
		name: "spoofed client hardware address is dropped unanswered",
		packet: func(t *testing.T) []byte {
			return dhcpv4Request(t, dhcpv4.MessageTypeDiscover, dhcpv4.WithHwAddr(dhcpv4OtherMAC))
		},
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeSpoofed,
	}, {
		name:        "spoofed source MAC is dropped unanswered",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		hwAddr:      dhcpv4OtherMAC,
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeSpoofed,
	}, {
		name:    "MACSPOOF allows another MAC",
		binding: func(a *binding.Active) { a.MACSpoof = true },
		packet: func(t *testing.T) []byte {
			return dhcpv4Request(t, dhcpv4.MessageTypeDiscover, dhcpv4.WithHwAddr(dhcpv4OtherMAC))
		},
		hwAddr:      dhcpv4OtherMAC,
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply { r := offerFromGateway(); r.EthDst = dhcpv4OtherMAC.String(); return r },
	}, {
		name:        "unknown TAP is accepted untouched",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		inIndex:     99,
		wantVerdict: responder.Accept, wantOutcome: responder.OutcomeUnknownTAP,
	}, {
		name:        "binding without IPv4 is not answered",
		binding:     func(a *binding.Active) { a.IP = netip.Addr{} },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeIgnored,
	}, {
		name:        "private network gets no router",
		binding:     func(a *binding.Active) { a.Private = true },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply { r := offerFromGateway(); r.Router = ""; return r },
	}, {
		name:        "malformed packet is dropped unanswered",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover)[:40] },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeMalformed,
	}, {
		name:        "send failure is an error, still dropped",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		sendErr:     errors.New("tap gone"),
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeError,
	}, {
		name:        "release is ignored",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeRelease) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeIgnored,
	}, {
		name:        "decline is ignored",
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDecline) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeIgnored,
	}, {
		name:        "on-link server uses the gateway",
		opts:        func(o *responder.Options) { o.ServerOnLink = true },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply {
			r := offerFromGateway()
			r.IPSrc, r.ServerID = "192.0.2.1", "192.0.2.1"
			return r
		},
	}, {
		name:        "on-link server without gateway uses the subnet's first address",
		binding:     func(a *binding.Active) { a.Gateway = netip.Addr{}; a.Subnet = netip.MustParsePrefix("192.0.2.8/29") },
		opts:        func(o *responder.Options) { o.ServerOnLink = true },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply {
			r := offerFromGateway()
			r.IPSrc, r.ServerID, r.Router = "192.0.2.9", "192.0.2.9", ""
			return r
		},
	}, {
		name:        "no server_ip uses the gateway",
		opts:        func(o *responder.Options) { o.ServerIP = netip.Addr{} },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply {
			r := offerFromGateway()
			r.IPSrc, r.ServerID = "192.0.2.1", "192.0.2.1"
			return r
		},
	}, {
		name: "no server identifier at all is an error",
		binding: func(a *binding.Active) {
			a.Gateway = netip.Addr{}
			a.Subnet = netip.MustParsePrefix("192.0.2.10/32")
		},
		opts:        func(o *responder.Options) { o.ServerIP = netip.Addr{} },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeError,
	}, {
		name:        "configured domain wins over the hostname's",
		opts:        func(o *responder.Options) { o.Domain = "cloud.test" },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply { r := offerFromGateway(); r.Domain = "cloud.test"; return r },
	}, {
		name:        "renewal time not before rebinding falls back to half the lease",
		opts:        func(o *responder.Options) { o.LeaseTime, o.RenewalTime = 800*time.Second, 750*time.Second },
		packet:      func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		wantVerdict: responder.Drop, wantOutcome: responder.OutcomeAnswered,
		wantReply: func() dhcpv4Reply {
			r := offerFromGateway()
			r.Lease, r.T1, r.T2 = 800*time.Second, 400*time.Second, 700*time.Second
			return r
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := dhcpv4Binding()
			if tt.binding != nil {
				tt.binding(a)
			}
			o := dhcpv4Options()
			if tt.opts != nil {
				tt.opts(&o)
			}
			sender := &dhcpv4Sender{err: tt.sendErr}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, o, log)

			p := &responder.Packet{ID: 1, InIndex: dhcpv4TapIndex, HwAddr: tt.hwAddr, Payload: tt.packet(t)}
			if tt.inIndex != 0 {
				p.InIndex = tt.inIndex
			}
			if got := r.Handler(responder.KindDHCPv4)(p); got != tt.wantVerdict {
				t.Errorf("verdict = %v, want %v", got, tt.wantVerdict)
			}
			if got := r.Stats.Get(responder.KindDHCPv4, tt.wantOutcome); got != 1 {
				t.Errorf("outcome %v counted %d times, want 1", tt.wantOutcome, got)
			}
			var want []dhcpv4Reply
			if tt.wantReply != nil {
				want = append(want, tt.wantReply())
			}
			var got []dhcpv4Reply
			for _, s := range sender.sent {
				got = append(got, decodeDHCPv4Reply(t, s))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("replies sent (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandleDHCPv4BridgedTAP checks that a packet from a TAP on a bridge
// is matched by its physical input interface and answered on it.
func TestHandleDHCPv4BridgedTAP(t *testing.T) {
	sender := &dhcpv4Sender{}
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{dhcpv4Binding()})}, sender, dhcpv4Options(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := &responder.Packet{InIndex: 3, PhysInIndex: dhcpv4TapIndex, HwAddr: dhcpv4VMMAC, Payload: dhcpv4Request(t, dhcpv4.MessageTypeDiscover)}
	if v := r.Handler(responder.KindDHCPv4)(p); v != responder.Drop {
		t.Errorf("verdict = %v, want drop", v)
	}
	if len(sender.sent) != 1 || sender.sent[0].ifindex != dhcpv4TapIndex {
		t.Fatalf("sent %d frames (%v), want one on ifindex %d", len(sender.sent), sender.sent, dhcpv4TapIndex)
	}
}

// TestHandleDHCPv4NoticesAreRateLimited checks that a flood of spoofed
// requests yields one warning and a flood of DECLINEs one info line, the
// rest of each going to the debug level.
func TestHandleDHCPv4NoticesAreRateLimited(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{dhcpv4Binding()})}, &dhcpv4Sender{}, dhcpv4Options(), log)
	h := r.Handler(responder.KindDHCPv4)
	for range 5 {
		h(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: dhcpv4Request(t, dhcpv4.MessageTypeDiscover, dhcpv4.WithHwAddr(dhcpv4OtherMAC))})
		h(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: dhcpv4Request(t, dhcpv4.MessageTypeDecline)})
	}
	got := map[string]int{}
	for _, line := range strings.Split(logs.String(), "\n") {
		_, level, _ := strings.Cut(line, "level=")
		level, _, _ = strings.Cut(level, " ")
		switch {
		case strings.Contains(line, "MAC other than the binding's"):
			got["spoofed "+level]++
		case strings.Contains(line, "DECLINE"):
			got["decline "+level]++
		}
	}
	want := map[string]int{"spoofed WARN": 1, "spoofed DEBUG": 4, "decline INFO": 1, "decline DEBUG": 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines by kind and level (-want +got):\n%s\nlog:\n%s", diff, logs.String())
	}
	if got := r.Stats.Get(responder.KindDHCPv4, responder.OutcomeSpoofed); got != 5 {
		t.Errorf("spoofed count = %d, want 5", got)
	}
}
