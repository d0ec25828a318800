package packets_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

var (
	testClientMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	testServerMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	testXID       = dhcpv4.TransactionID{0xde, 0xad, 0xbe, 0xef}
)

// testLease is a routed-setup lease: the VM in a /24 with the gateway
// inside it.
func testLease() *packets.DHCPv4Lease {
	return &packets.DHCPv4Lease{
		ServerMAC:     testServerMAC,
		ServerIP:      netip.MustParseAddr("192.0.2.1"),
		ClientIP:      netip.MustParseAddr("192.0.2.10"),
		Subnet:        netip.MustParsePrefix("192.0.2.0/24"),
		Router:        netip.MustParseAddr("192.0.2.1"),
		Nameservers:   []netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("2001:db8::53"), netip.MustParseAddr("198.51.100.54")},
		Domain:        "example.org",
		Hostname:      "vm1",
		MTU:           1450,
		LeaseTime:     604800 * time.Second,
		RenewalTime:   600 * time.Second,
		RebindingTime: 529200 * time.Second,
	}
}

// testRequest builds a request of type typ from the test client.
func testRequest(t *testing.T, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithTransactionID(testXID),
		dhcpv4.WithHwAddr(testClientMAC),
		dhcpv4.WithMessageType(typ),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// allConfig is every option testLease yields in an OFFER or ACK.
func allConfig(typ string) map[uint8]string {
	return map[uint8]string{
		1:  "255.255.255.0",
		3:  "192.0.2.1",
		6:  "198.51.100.53,198.51.100.54",
		12: "vm1",
		15: "example.org",
		26: "1450",
		28: "192.0.2.255",
		51: "168h0m0s",
		53: typ,
		54: "192.0.2.1",
		58: "10m0s",
		59: "147h0m0s",
	}
}

func without(m map[uint8]string, codes ...uint8) map[uint8]string {
	for _, c := range codes {
		delete(m, c)
	}
	return m
}

func with(m map[uint8]string, code uint8, v string) map[uint8]string {
	m[code] = v
	return m
}

func TestBuildDHCPv4Reply(t *testing.T) {
	unicast := replySummary{
		EthSrc: testServerMAC.String(), EthDst: testClientMAC.String(),
		IPSrc: "192.0.2.1", IPDst: "192.0.2.10", TTL: 64, SrcPort: 67, DstPort: 68,
		XID: testXID.String(), CIAddr: "0.0.0.0", YIAddr: "192.0.2.10",
	}
	broadcast := unicast
	broadcast.EthDst, broadcast.IPDst, broadcast.Broadcast = "ff:ff:ff:ff:ff:ff", "255.255.255.255", true

	ciaddr := dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 10))
	prl := func(codes ...uint8) dhcpv4.Modifier {
		var l []dhcpv4.OptionCode
		for _, c := range codes {
			l = append(l, dhcpv4.GenericOptionCode(c))
		}
		return dhcpv4.WithRequestedOptions(l...)
	}

	tests := []struct {
		name  string
		req   dhcpv4.MessageType
		mods  []dhcpv4.Modifier
		reply dhcpv4.MessageType
		lease func(*packets.DHCPv4Lease)
		want  func() replySummary
	}{{
		name: "discover without request list gets everything", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		want: func() replySummary { s := unicast; s.Type = "OFFER"; s.Options = allConfig("OFFER"); return s },
	}, {
		name: "broadcast flag gets a broadcast", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods: []dhcpv4.Modifier{dhcpv4.WithBroadcast(true)},
		want: func() replySummary { s := broadcast; s.Type = "OFFER"; s.Options = allConfig("OFFER"); return s },
	}, {
		name: "request in selecting state gets an ack", req: dhcpv4.MessageTypeRequest, reply: dhcpv4.MessageTypeAck,
		mods: []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 10)))},
		want: func() replySummary { s := unicast; s.Type = "ACK"; s.Options = allConfig("ACK"); return s },
	}, {
		name: "renewing client gets a unicast to ciaddr, echoed", req: dhcpv4.MessageTypeRequest, reply: dhcpv4.MessageTypeAck,
		mods: []dhcpv4.Modifier{ciaddr, dhcpv4.WithBroadcast(true)},
		want: func() replySummary {
			s := unicast
			s.Type, s.CIAddr, s.Broadcast = "ACK", "192.0.2.10", true
			s.Options = allConfig("ACK")
			return s
		},
	}, {
		name: "nak is broadcast and carries no configuration", req: dhcpv4.MessageTypeRequest, reply: dhcpv4.MessageTypeNak,
		mods: []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 99)))},
		want: func() replySummary {
			s := unicast
			s.Type, s.YIAddr = "NAK", "0.0.0.0"
			s.EthDst, s.IPDst = "ff:ff:ff:ff:ff:ff", "255.255.255.255"
			s.Options = map[uint8]string{53: "NAK", 54: "192.0.2.1", 56: "requested address is not yours"}
			return s
		},
	}, {
		name: "inform gets configuration without address or lease", req: dhcpv4.MessageTypeInform, reply: dhcpv4.MessageTypeAck,
		mods: []dhcpv4.Modifier{ciaddr},
		want: func() replySummary {
			s := unicast
			s.Type, s.YIAddr, s.CIAddr = "ACK", "0.0.0.0", "192.0.2.10"
			s.Options = without(allConfig("ACK"), 51, 58, 59)
			return s
		},
	}, {
		name: "inform without ciaddr gets a broadcast", req: dhcpv4.MessageTypeInform, reply: dhcpv4.MessageTypeAck,
		want: func() replySummary {
			s := broadcast
			s.Type, s.YIAddr, s.Broadcast = "ACK", "0.0.0.0", false
			s.Options = without(allConfig("ACK"), 51, 58, 59)
			return s
		},
	}, {
		name: "request list limits the options", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods: []dhcpv4.Modifier{prl(1, 3, 6)},
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = without(allConfig("OFFER"), 12, 15, 26, 28)
			return s
		},
	}, {
		name: "private network has no router", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods:  []dhcpv4.Modifier{prl(1, 3, 6, 121)},
		lease: func(l *packets.DHCPv4Lease) { l.Router = netip.Addr{} },
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = without(allConfig("OFFER"), 3, 12, 15, 26, 28)
			return s
		},
	}, {
		name: "router outside a /32 comes with classless routes", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods: []dhcpv4.Modifier{prl(1, 3, 28, 121)},
		lease: func(l *packets.DHCPv4Lease) {
			l.Subnet = netip.MustParsePrefix("192.0.2.10/32")
			l.Router = netip.MustParseAddr("198.51.100.1")
		},
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = without(allConfig("OFFER"), 6, 12, 15, 26, 28)
			s.Options[1] = "255.255.255.255"
			s.Options[3] = "198.51.100.1"
			// 198.51.100.1/32 via 0.0.0.0, then 0.0.0.0/0 via 198.51.100.1.
			s.Options[121] = "20c6336401" + "00000000" + "00" + "c6336401"
			return s
		},
	}, {
		name: "classless routes only when asked", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods: []dhcpv4.Modifier{prl(1, 3)},
		lease: func(l *packets.DHCPv4Lease) {
			l.Subnet = netip.MustParsePrefix("192.0.2.10/32")
			l.Router = netip.MustParseAddr("198.51.100.1")
		},
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = with(without(allConfig("OFFER"), 6, 12, 15, 26, 28), 1, "255.255.255.255")
			s.Options[3] = "198.51.100.1"
			return s
		},
	}, {
		name: "no mtu, no domain, no hostname, no nameserver: not sent", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		lease: func(l *packets.DHCPv4Lease) {
			l.MTU, l.Domain, l.Hostname, l.Nameservers = 0, "", "", []netip.Addr{netip.MustParseAddr("2001:db8::53")}
			l.RenewalTime, l.RebindingTime = 0, 0
		},
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = without(allConfig("OFFER"), 6, 12, 15, 26, 58, 59)
			return s
		},
	}, {
		name: "lease times are capped at infinity", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods:  []dhcpv4.Modifier{prl(1)},
		lease: func(l *packets.DHCPv4Lease) { l.LeaseTime = 200 * 365 * 24 * time.Hour },
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = without(allConfig("OFFER"), 3, 6, 12, 15, 26, 28)
			s.Options[51] = (0xffffffff * time.Second).String()
			return s
		},
	}, {
		name: "client identifier is echoed", req: dhcpv4.MessageTypeDiscover, reply: dhcpv4.MessageTypeOffer,
		mods: []dhcpv4.Modifier{prl(1), dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}))},
		want: func() replySummary {
			s := unicast
			s.Type = "OFFER"
			s.Options = with(without(allConfig("OFFER"), 3, 6, 12, 15, 26, 28), 61, "01525400123456")
			return s
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLease()
			if tt.lease != nil {
				tt.lease(l)
			}
			frame, err := packets.BuildDHCPv4Reply(testRequest(t, tt.req, tt.mods...), tt.reply, l)
			if err != nil {
				t.Fatalf("BuildDHCPv4Reply: %v", err)
			}
			if diff := cmp.Diff(tt.want(), summarizeReply(t, frame)); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildDHCPv4ReplyMaxMessageSize checks that a reply too long for the
// client loses its least important options first and never exceeds what
// the client accepts.
func TestBuildDHCPv4ReplyMaxMessageSize(t *testing.T) {
	long := func(l *packets.DHCPv4Lease) {
		l.Hostname = strings.Repeat("h", 200)
		l.Domain = strings.Repeat("d", 150) + ".example"
		l.Nameservers = nil
		for i := range 30 {
			l.Nameservers = append(l.Nameservers, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		}
	}
	tests := []struct {
		name     string
		maxSize  uint16 // 0: no option 57
		lease    func(*packets.DHCPv4Lease)
		wantGone []uint8
	}{
		{name: "fits 576 untouched", lease: func(*packets.DHCPv4Lease) {}},
		{name: "576 default drops hostname and domain", lease: long, wantGone: []uint8{12, 15}},
		{name: "bogus size below 576 means 576", maxSize: 300, lease: long, wantGone: []uint8{12, 15}},
		{name: "larger size keeps everything", maxSize: 1500, lease: long},
		{name: "tight size drops more", maxSize: 576, lease: func(l *packets.DHCPv4Lease) {
			long(l)
			for i := range 40 {
				l.Nameservers = append(l.Nameservers, netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
			}
		}, wantGone: []uint8{6, 12, 15, 26, 28, 58, 59}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []dhcpv4.Modifier
			if tt.maxSize != 0 {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(tt.maxSize)))
			}
			l := testLease()
			tt.lease(l)
			frame, err := packets.BuildDHCPv4Reply(testRequest(t, dhcpv4.MessageTypeDiscover, mods...), dhcpv4.MessageTypeOffer, l)
			if err != nil {
				t.Fatalf("BuildDHCPv4Reply: %v", err)
			}
			limit := max(int(tt.maxSize), 576)
			if ipLen := len(frame) - 14; ipLen > limit {
				t.Errorf("IP datagram of %d bytes exceeds the client's %d", ipLen, limit)
			}
			got := summarizeReply(t, frame)
			var gone []uint8
			for _, c := range []uint8{1, 3, 6, 12, 15, 26, 28, 51, 53, 54, 58, 59} {
				if _, ok := got.Options[c]; !ok {
					gone = append(gone, c)
				}
			}
			if diff := cmp.Diff(tt.wantGone, gone); diff != "" {
				t.Errorf("dropped options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildDHCPv4ReplyRefusesBadParams(t *testing.T) {
	tests := []struct {
		name  string
		typ   dhcpv4.MessageType
		lease func(*packets.DHCPv4Lease)
		nilRq bool
	}{
		{name: "decline is not a reply", typ: dhcpv4.MessageTypeDecline, lease: func(*packets.DHCPv4Lease) {}},
		{name: "short server MAC", typ: dhcpv4.MessageTypeOffer, lease: func(l *packets.DHCPv4Lease) { l.ServerMAC = l.ServerMAC[:4] }},
		{name: "no server address", typ: dhcpv4.MessageTypeNak, lease: func(l *packets.DHCPv4Lease) { l.ServerIP = netip.Addr{} }},
		{name: "IPv6 server address", typ: dhcpv4.MessageTypeAck, lease: func(l *packets.DHCPv4Lease) { l.ServerIP = netip.MustParseAddr("2001:db8::1") }},
		{name: "no client address", typ: dhcpv4.MessageTypeOffer, lease: func(l *packets.DHCPv4Lease) { l.ClientIP = netip.Addr{} }},
		{name: "no subnet", typ: dhcpv4.MessageTypeAck, lease: func(l *packets.DHCPv4Lease) { l.Subnet = netip.Prefix{} }},
		{name: "IPv6 router", typ: dhcpv4.MessageTypeAck, lease: func(l *packets.DHCPv4Lease) { l.Router = netip.MustParseAddr("2001:db8::1") }},
		{name: "no lease time", typ: dhcpv4.MessageTypeOffer, lease: func(l *packets.DHCPv4Lease) { l.LeaseTime = 0 }},
		{name: "tiny MTU", typ: dhcpv4.MessageTypeOffer, lease: func(l *packets.DHCPv4Lease) { l.MTU = 67 }},
		{name: "nil request", typ: dhcpv4.MessageTypeOffer, lease: func(*packets.DHCPv4Lease) {}, nilRq: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLease()
			tt.lease(l)
			req := testRequest(t, dhcpv4.MessageTypeDiscover)
			if tt.nilRq {
				req = nil
			}
			frame, err := packets.BuildDHCPv4Reply(req, tt.typ, l)
			if err == nil {
				t.Fatalf("BuildDHCPv4Reply succeeded with %d bytes, want an error", len(frame))
			}
			if !strings.HasPrefix(err.Error(), "packets: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestAppendDHCPv4ReplyReusesBuffer checks that appending keeps what dst
// held and builds the same frame as BuildDHCPv4Reply.
func TestAppendDHCPv4ReplyReusesBuffer(t *testing.T) {
	req := testRequest(t, dhcpv4.MessageTypeDiscover)
	want, err := packets.BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, testLease())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3, 2048)
	copy(buf, "abc")
	got, err := packets.AppendDHCPv4Reply(buf, req, dhcpv4.MessageTypeOffer, testLease())
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:3]) != "abc" || &got[0] != &buf[0] {
		t.Errorf("AppendDHCPv4Reply did not append in place")
	}
	if diff := cmp.Diff(want, got[3:]); diff != "" {
		t.Errorf("appended frame (-want +got):\n%s", diff)
	}
	if _, err := packets.AppendDHCPv4Reply(nil, req, dhcpv4.MessageTypeOffer, nil); err == nil || errors.Is(err, nil) {
		t.Errorf("nil lease accepted")
	}
}
