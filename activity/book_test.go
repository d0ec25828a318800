package activity_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
)

func testActive() *binding.Active {
	return &binding.Active{
		Binding: binding.Binding{
			Name: "tap1", MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1},
			IP: netip.MustParseAddr("192.0.2.10"), Hostname: "vm1.example.org",
			Subnet6: netip.MustParsePrefix("2001:db8:1::/64"),
		},
		TapIndex: 5,
	}
}

// TestBookLeaseEvents checks which requests raise an event and an INFO
// line: the first ACK (not the renewals), NAK, RELEASE, then the ACK after
// the RELEASE, a DHCPv6 address once, a new IPv6 address once.
func TestBookLeaseEvents(t *testing.T) {
	var logs bytes.Buffer
	b := activity.NewBook(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	var got []string
	b.SetSink(func(ev activity.Event) {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", ev.Kind, ev.TAP, ev.IP, ev.Address6, ev.ClientHostname))
	})
	a := testActive()
	ip := a.IP
	b.DHCPv4Request(a, 3, packets.ClientInfo{HostName: []byte("vm1\x01"), VendorClass: []byte("udhcp 1.36.1")})
	b.DHCPv4Ack(a, ip, time.Hour)
	b.DHCPv4Ack(a, ip, time.Hour) // renewal
	b.DHCPv4NAK(a, netip.MustParseAddr("192.0.2.99"))
	b.DHCPv4Release(a, ip)
	b.DHCPv4Ack(a, ip, time.Hour)
	b.DHCPv6Leased(a, netip.MustParseAddr("2001:db8:1::10"))
	b.DHCPv6Leased(a, netip.MustParseAddr("2001:db8:1::10"))
	dad := &packets.NS{Src: netip.IPv6Unspecified(), Target: netip.MustParseAddr("2001:db8:1::abcd")}
	b.NS(a, dad)
	b.NS(a, dad)
	b.NS(a, &packets.NS{Src: netip.MustParseAddr("2001:db8:1::abcd"), Target: netip.MustParseAddr("2001:db8:1::1")})
	want := []string{
		"lease tap1 192.0.2.10 invalid IP vm1?",
		"nak tap1 192.0.2.99 invalid IP vm1?",
		"release tap1 192.0.2.10 invalid IP vm1?",
		"lease tap1 192.0.2.10 invalid IP vm1?",
		"lease6 tap1 invalid IP 2001:db8:1::10 vm1?",
		"address6 tap1 invalid IP 2001:db8:1::abcd vm1?",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := strings.Count(logs.String(), "level=INFO"); n != len(want) {
		t.Errorf("%d INFO lines, want %d:\n%s", n, len(want), logs.String())
	}
	if !strings.Contains(logs.String(), `msg="VM configured" TAP=tap1`) {
		t.Errorf("no VM configured line:\n%s", logs.String())
	}
	v, ok := b.View("tap1")
	if !ok {
		t.Fatal("no view")
	}
	if v.ClientHostname != "vm1?" || v.VendorClass != "udhcp 1.36.1" || v.LeaseIP != "192.0.2.10" || len(v.Seen6) != 1 || v.Seen6[0].How != "dad" {
		t.Errorf("view = %+v", v)
	}
	b.Forget("tap1")
	if _, ok := b.View("tap1"); ok {
		t.Error("view still there after Forget")
	}
}

// TestBookBounds checks that a VM cycling through addresses keeps at most
// MaxSeen6 of them, and that its INFO lines are rate-limited per TAP.
func TestBookBounds(t *testing.T) {
	var logs bytes.Buffer
	b := activity.NewBook(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	events := 0
	b.SetSink(func(activity.Event) { events++ })
	a := testActive()
	for i := range 1000 {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), 15: byte(i)})
		b.NS(a, &packets.NS{Src: netip.IPv6Unspecified(), Target: addr})
	}
	if n := len(b.Seen6("tap1")); n != activity.MaxSeen6 {
		t.Errorf("%d addresses kept, want %d", n, activity.MaxSeen6)
	}
	if events != 1000 {
		t.Errorf("%d events, want 1000 (the sink bounds its own queue)", events)
	}
	if n := strings.Count(logs.String(), "level=INFO"); n > 11 {
		t.Errorf("%d INFO lines for 1000 new addresses in a burst, want at most the burst of 10 (+1)", n)
	}
	b2 := activity.NewBook(slog.New(slog.DiscardHandler))
	other := testActive()
	other.Name = "tap2"
	b2.RS(other)
	if b2.Len() != 1 {
		t.Errorf("Len = %d, want 1", b2.Len())
	}
}

// TestBookPrefixesAndSources checks the delegated prefixes (an event and
// an INFO line per prefix the first time, renewals at debug, the view)
// and the addresses learned from the source of the VM's own
// solicitations: a global address the VM resolves its router from is
// learned, one the binding does not let it use is not.
func TestBookPrefixesAndSources(t *testing.T) {
	var logs bytes.Buffer
	b := activity.NewBook(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	var got []string
	b.SetSink(func(ev activity.Event) {
		got = append(got, fmt.Sprintf("%s %s %s %s", ev.Kind, ev.TAP, ev.Address6, ev.Prefix6))
	})
	a := testActive()
	a.Delegated6 = []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56"), netip.MustParsePrefix("2001:db8:200::/56")}
	b.DHCPv6Request(a, 3, []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 1})
	b.DHCPv6Delegated(a, a.Delegated6)
	b.DHCPv6Delegated(a, a.Delegated6) // renewal
	router := netip.MustParseAddr("2001:db8:1::1")
	for _, src := range []string{
		"2001:db8:1::beef",     // in SUBNET6, not the EUI-64 one
		"2001:db8:100:1::1",    // numbered from the delegated prefix
		"2001:db8:1::beef",     // again: nothing new
		"2001:db8:ffff::1",     // not the VM's to use
		"fe80::5054:ff:fe00:1", // its link-local
	} {
		b.NS(a, &packets.NS{Src: netip.MustParseAddr(src), Target: router})
	}
	b.NS(a, &packets.NS{Src: netip.IPv6Unspecified(), Target: netip.MustParseAddr("2001:db8:ffff::2")}) // DAD outside
	want := []string{
		"prefix6 tap1 invalid IP 2001:db8:100::/56",
		"prefix6 tap1 invalid IP 2001:db8:200::/56",
		"address6 tap1 2001:db8:1::beef invalid Prefix",
		"address6 tap1 2001:db8:100:1::1 invalid Prefix",
		"address6 tap1 fe80::5054:ff:fe00:1 invalid Prefix",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := strings.Count(logs.String(), `msg="prefix delegated" TAP=tap1`); n != 2 {
		t.Errorf("%d prefix delegated lines, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "PREFIX=2001:db8:100::/56 DUID=00030001525400000001") {
		t.Errorf("prefix line without PREFIX and DUID:\n%s", logs.String())
	}
	v, ok := b.View("tap1")
	if !ok {
		t.Fatal("no view")
	}
	if diff := cmp.Diff([]string{"2001:db8:100::/56", "2001:db8:200::/56"}, v.Delegated6); diff != "" || v.Delegated6At.IsZero() {
		t.Errorf("view's prefixes (-want +got):\n%s (at %v)", diff, v.Delegated6At)
	}
	var seen []string
	for _, s := range v.Seen6 {
		seen = append(seen, s.Address+" "+s.How)
	}
	if diff := cmp.Diff([]string{"2001:db8:1::beef ns", "2001:db8:100:1::1 ns", "fe80::5054:ff:fe00:1 ns"}, seen); diff != "" {
		t.Errorf("view's addresses in use (-want +got):\n%s", diff)
	}
	// At most MaxDelegated6 prefixes are kept, the latest ones.
	var many []netip.Prefix
	for i := range activity.MaxDelegated6 + 3 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x10, byte(i)}), 48))
	}
	b.DHCPv6Delegated(a, many)
	if v, _ := b.View("tap1"); len(v.Delegated6) != activity.MaxDelegated6 || v.Delegated6[len(v.Delegated6)-1] != many[len(many)-1].String() {
		t.Errorf("view keeps %v, want the last %d", v.Delegated6, activity.MaxDelegated6)
	}
}
