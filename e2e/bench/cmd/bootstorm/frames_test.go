package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// TestFramesDecode checks the guests' frames with the daemon's own
// decoders: a storm the daemon could not read would measure nothing.
func TestFramesDecode(t *testing.T) {
	v := vms(5)[4]
	g := &guest{mac: v.mac, xid: 0x5700004, ip: v.ip, prefix: v.prefix}
	g.linkLocal = eui64(netip6LinkLocal, v.mac)
	g.global = eui64(v.prefix, v.mac)
	if want := netip.MustParseAddr("fe80::5054:ff:fe02:5"); g.linkLocal != want {
		t.Errorf("link-local = %s, want %s", g.linkLocal, want)
	}
	const eth = 14

	var req packets.DHCPv4Request
	if err := packets.ParseDHCPv4(dhcpv4Frame(g, layers.DHCPMsgTypeDiscover, netip.Addr{}, netip.Addr{})[eth:], &req); err != nil {
		t.Fatalf("DISCOVER: %v", err)
	}
	if req.Type != dhcpv4.MessageTypeDiscover || req.ClientHWAddr.String() != v.mac.String() {
		t.Errorf("DISCOVER decoded as %v from %s", req.Type, req.ClientHWAddr)
	}
	server := netip.MustParseAddr("192.0.2.1")
	if err := packets.ParseDHCPv4(dhcpv4Frame(g, layers.DHCPMsgTypeRequest, v.ip, server)[eth:], &req); err != nil {
		t.Fatalf("REQUEST: %v", err)
	}
	if req.Type != dhcpv4.MessageTypeRequest || req.RequestedIP != v.ip {
		t.Errorf("REQUEST decoded as %v for %s, want %s", req.Type, req.RequestedIP, v.ip)
	}

	rs, err := packets.DecodeRS(rsFrame(g)[eth:])
	if err != nil || rs.Src != g.linkLocal || rs.SourceLL.String() != v.mac.String() {
		t.Errorf("RS decoded as %+v, %v", rs, err)
	}
	ns, err := packets.DecodeNS(dadFrame(g, g.global)[eth:])
	if err != nil || ns.Src != netip.IPv6Unspecified() || ns.Target != g.global || ns.Dst != solicitedNode(g.global) {
		t.Errorf("DAD NS decoded as %+v, %v", ns, err)
	}
	ir, err := packets.DecodeDHCPv6(infoRequestFrame(g)[eth:])
	if err != nil || ir.Msg.MessageType != dhcpv6.MessageTypeInformationRequest || ir.Src != g.linkLocal {
		t.Errorf("Information-Request decoded as %+v, %v", ir, err)
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for tries := 1; tries <= 6; tries++ {
		got = append(got, backoff(tries, time.Second, 8*time.Second))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got[i], want[i])
		}
	}
}

func TestVMsAddresses(t *testing.T) {
	all := vms(maxVMs)
	seen := map[netip.Addr]bool{}
	for _, v := range all {
		if seen[v.ip] || v.ip == netip.MustParseAddr("192.0.2.53") || !netip.MustParsePrefix("192.0.2.0/24").Contains(v.ip) {
			t.Errorf("%s: address %s duplicate, the DNS server's or outside the /24", v.tap, v.ip)
		}
		seen[v.ip] = true
	}
	if last := all[len(all)-1]; last.ip != netip.MustParseAddr("192.0.2.251") || last.prefix != netip.MustParsePrefix("2001:db8:f1::/64") {
		t.Errorf("last VM: %s %s", last.ip, last.prefix)
	}
}
