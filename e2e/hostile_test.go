package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/e2e/inject"
)

// A hostileCase is one crafted frame from the evil VM: the queue it must
// reach, the outcome the daemon must count, and the replies the VM must see
// (none when nil).
type hostileCase struct {
	name    string
	frame   []byte
	queue   string
	outcome string
	want    []string
}

// hostileCases builds the frames. Each case breaks one thing of an
// otherwise valid request; the first of each protocol is the valid request,
// which shows that the broken ones are refused for what they break.
func (lab *hostileLab) hostileCases() []hostileCase {
	evilMAC, goodMAC := lab.evil.VMMAC, lab.good.VMMAC
	zero, bcast := netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255")
	v4 := func(srcMAC []byte, m inject.BOOTP) []byte {
		return inject.UDP4(srcMAC, zero, bcast, 68, 67, m.Bytes(), 0)
	}
	discover := func(opts ...[]byte) inject.BOOTP {
		return inject.Request(evilMAC, 0x0e1f0001, append([][]byte{inject.Opt(53, inject.DiscoverType)}, opts...)...)
	}
	offer := []string{"dhcpv4 Offer " + lab.evilIP.String()}
	withHLen := func(n byte) inject.BOOTP { m := discover(inject.End); m.HLen = n; return m }
	noCookie := discover(inject.End)
	noCookie.NoCookie = true
	overloadBad := inject.Request(evilMAC, 0x0e1f0002, inject.Opt(53, inject.DiscoverType), inject.Opt(52, 1), inject.End)
	overloadBad.File = inject.OptLen(12, 200, 'v', 'm')
	overloadGood := inject.Request(evilMAC, 0x0e1f0003, inject.Opt(52, 2), inject.End)
	overloadGood.SName = append(inject.Opt(53, inject.DiscoverType), inject.End...)
	overloadLoop := inject.Request(evilMAC, 0x0e1f0004, inject.Opt(53, inject.DiscoverType), inject.Opt(52, 3), inject.End)
	overloadLoop.File = append(inject.Opt(52, 3), inject.End...)
	overloadLoop.SName = append(inject.Opt(52, 3), inject.End...)
	padded := discover(append(bytes.Repeat([]byte{0}, 1000), inject.End...))
	bigOptions := discover(bytes.Repeat(inject.Opt(60, bytes.Repeat([]byte{'x'}, 255)...), 4), inject.End)
	good4 := lab.goodIP.As4()

	dhcp6 := func(src []byte, msg []byte, udpLen inject.UDPLength) []byte {
		return inject.UDP6(src, inject.AllDHCPv6MAC, lab.evilLL, inject.AllDHCPv6, 546, 547, msg, udpLen)
	}
	ia := []byte{0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0} // IAID 7, T1 0, T2 0
	solicit := func(opts ...[]byte) []byte {
		return inject.DHCPv6(1, 0xabcdef, append([][]byte{inject.Opt6(1, inject.DUIDLL(evilMAC)...), inject.Opt6(8, 0, 0)}, opts...)...)
	}
	validSolicit := solicit(inject.Opt6(3, ia...))

	rs := func(src []byte, opts ...[]byte) []byte {
		return inject.ICMPv6(src, inject.AllRoutersMAC, lab.evilLL, inject.AllRouters, 133, 0, inject.RSBody(opts...))
	}
	ns := func(target netip.Addr, opts ...[]byte) []byte {
		dst, dstMAC := inject.SolicitedNode(target)
		return inject.ICMPv6(evilMAC, dstMAC, lab.evilLL, dst, 135, 0, inject.NSBody(target, opts...))
	}
	gw := netip.MustParseAddr(v6Gateway)
	nsHop64 := ns(gw, inject.SourceLL(evilMAC))
	nsHop64[14+7] = 64 // hop limit: RFC 4861 §7.1.1 wants 255
	// The ICMPv6 checksum does not cover the hop limit: the frame stays valid otherwise.

	return []hostileCase{
		// DHCPv4.
		{"DHCPv4 DISCOVER", v4(evilMAC, discover(inject.End)), "dhcpv4", "answered", offer},
		{"DHCPv4 BOOTP header cut short", inject.UDP4(evilMAC, zero, bcast, 68, 67, discover(inject.End).Bytes()[:100], 0), "dhcpv4", "malformed", nil},
		{"DHCPv4 without magic cookie", v4(evilMAC, noCookie), "dhcpv4", "malformed", nil},
		{"DHCPv4 UDP length beyond the datagram", inject.UDP4(evilMAC, zero, bcast, 68, 67, discover(inject.End).Bytes(), 1200), "dhcpv4", "malformed", nil},
		{"DHCPv4 oversized with 1000 pad bytes", v4(evilMAC, padded), "dhcpv4", "answered", offer},
		{"DHCPv4 oversized with four 255-byte options", v4(evilMAC, bigOptions), "dhcpv4", "answered", offer},
		{"DHCPv4 option length past the end", v4(evilMAC, discover(inject.OptLen(12, 200, 'v', 'm'))), "dhcpv4", "malformed", nil},
		{"DHCPv4 message type of length 0", v4(evilMAC, inject.Request(evilMAC, 9, inject.OptLen(53, 0), inject.End)), "dhcpv4", "malformed", nil},
		{"DHCPv4 message type of length 2", v4(evilMAC, inject.Request(evilMAC, 9, inject.Opt(53, 1, 1), inject.End)), "dhcpv4", "malformed", nil},
		{"DHCPv4 no message type", v4(evilMAC, inject.Request(evilMAC, 9, inject.End)), "dhcpv4", "malformed", nil},
		// Option overload is not interpreted (the sname and file fields
		// are never parsed as options): garbage there is ignored, and a
		// message type that only sname holds is no message type.
		{"DHCPv4 overload (52) into file with a bad option length", v4(evilMAC, overloadBad), "dhcpv4", "answered", offer},
		{"DHCPv4 overload (52) with the message type only in sname", v4(evilMAC, overloadGood), "dhcpv4", "malformed", nil},
		{"DHCPv4 overload (52) repeated inside sname and file", v4(evilMAC, overloadLoop), "dhcpv4", "answered", offer},
		{"DHCPv4 hlen 0", v4(evilMAC, withHLen(0)), "dhcpv4", "malformed", nil},
		{"DHCPv4 hlen 255", v4(evilMAC, withHLen(255)), "dhcpv4", "malformed", nil},
		{"DHCPv4 REQUEST for the other VM's address", v4(evilMAC, inject.Request(evilMAC, 10, inject.Opt(53, inject.RequestType), inject.Opt(50, good4[:]...), inject.End)),
			"dhcpv4", "nak", []string{"dhcpv4 Nak 0.0.0.0"}},
		{"DHCPv4 DISCOVER spoofing the other VM's MAC", v4(goodMAC, inject.Request(goodMAC, 11, inject.Opt(53, inject.DiscoverType), inject.End)), "dhcpv4", "spoofed", nil},
		{"DHCPv4 DISCOVER with the other VM's MAC in chaddr", v4(evilMAC, inject.Request(goodMAC, 12, inject.Opt(53, inject.DiscoverType), inject.End)), "dhcpv4", "spoofed", nil},

		// DHCPv6.
		{"DHCPv6 Solicit", dhcp6(evilMAC, validSolicit, 0), "dhcpv6", "answered", []string{"dhcpv6 Advertise"}},
		{"DHCPv6 header cut short", dhcp6(evilMAC, []byte{1, 0xab}, 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 option length past the end", dhcp6(evilMAC, solicit(inject.Opt6Len(3, 500, ia...)), 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 option header cut short", dhcp6(evilMAC, append(validSolicit, 0, 3, 0), 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 IA_NA shorter than its fixed part", dhcp6(evilMAC, solicit(inject.Opt6(3, 0, 0, 0, 7)), 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 IA address option overrunning its IA_NA", dhcp6(evilMAC, solicit(inject.Opt6(3, append(append([]byte{}, ia...), inject.Opt6Len(5, 100, 1, 2, 3)...)...)), 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 client ID of length 0", dhcp6(evilMAC, inject.DHCPv6(1, 5, inject.Opt6(1), inject.Opt6(3, ia...)), 0), "dhcpv6", "malformed", nil},
		{"DHCPv6 UDP length beyond the datagram", dhcp6(evilMAC, validSolicit, 900), "dhcpv6", "malformed", nil},
		{"DHCPv6 Solicit spoofing the other VM's MAC", inject.UDP6(goodMAC, inject.AllDHCPv6MAC, lab.evilLL, inject.AllDHCPv6, 546, 547, validSolicit, 0), "dhcpv6", "spoofed", nil},

		// Router Solicitation.
		{"RS", rs(evilMAC, inject.SourceLL(evilMAC)), "rs", "answered", []string{"ra"}},
		{"RS option of length 0", rs(evilMAC, inject.NDOpt(1, 0, evilMAC...)), "rs", "malformed", nil},
		{"RS option length past the end", rs(evilMAC, inject.NDOpt(1, 4, evilMAC...)), "rs", "malformed", nil},
		{"RS source link-layer option of the other VM", rs(evilMAC, inject.SourceLL(goodMAC)), "rs", "spoofed", nil},

		// Neighbor Solicitation.
		{"NS for the gateway", ns(gw, inject.SourceLL(evilMAC)), "ns", "answered", []string{"na " + v6Gateway}},
		{"NS for the host's link-local address on the TAP", ns(lab.tapLL, inject.SourceLL(evilMAC)), "ns", "answered", []string{"na " + lab.tapLL.String()}},
		{"NS for the other VM's address (proxy NDP)", ns(lab.goodEUI64, inject.SourceLL(evilMAC)), "ns", "answered", []string{"na " + lab.goodEUI64.String()}},
		{"NS option of length 0", ns(gw, inject.NDOpt(1, 0, evilMAC...)), "ns", "malformed", nil},
		{"NS option length past the end", ns(gw, inject.NDOpt(1, 3, evilMAC...)), "ns", "malformed", nil},
		{"NS target cut short", inject.ICMPv6(evilMAC, inject.AllRoutersMAC, lab.evilLL, inject.AllRouters, 135, 0, make([]byte, 12)), "ns", "malformed", nil},
		{"NS with hop limit 64", nsHop64, "ns", "malformed", nil},
		{"NS for an address outside the subnet", ns(netip.MustParseAddr("2001:db8:ffff::1"), inject.SourceLL(evilMAC)), "ns", "ignored", nil},
		{"NS for the host's own address outside the subnet", ns(hostileHostAddr, inject.SourceLL(evilMAC)), "ns", "ignored", nil},
		{"NS for the VM's own address", ns(lab.evilEUI64, inject.SourceLL(evilMAC)), "ns", "ignored", nil},
		{"NS for a multicast target", ns(netip.MustParseAddr("ff02::1"), inject.SourceLL(evilMAC)), "ns", "malformed", nil},
		{"NS with the other VM's source link-layer address", ns(gw, inject.SourceLL(goodMAC)), "ns", "spoofed", nil},
	}
}

// hostileHostAddr is an address of the hypervisor itself, outside the VMs'
// prefix: the daemon must not answer for it, and the host's kernel must not
// either, since a bound TAP's NS is dropped after the daemon saw it (an NA
// from the kernel would show among the replies).
var hostileHostAddr = netip.MustParseAddr("2001:db8:ff00::1")

// TestHostileVM sends every crafted frame of hostileCases from one VM onto
// its TAP through the real NFQUEUE path. For each: the daemon counts the
// expected outcome on the expected queue, the VM sees exactly the expected
// replies (or none), the daemon is still running and the other VM still gets
// its lease.
func TestHostileVM(t *testing.T) {
	lab := newHostileLab(t, nil)
	lab.d.NS.Run(t, "ip", "addr", "add", hostileHostAddr.String()+"/128", "dev", "lo")
	lab.goodServed(t)
	cases := lab.hostileCases()
	checkHostileFixtures(t, cases)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := queueCounters(t, lab.socket, c.queue)
			lab.inj.Drain()
			if err := lab.inj.Send(c.frame); err != nil {
				t.Fatal(err)
			}
			got := lab.replies(t, 250*time.Millisecond)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("replies on the VM's link (-want +got):\n%s", diff)
			}
			delta := counterDelta(t, lab.socket, c.queue, before, 1)
			if diff := cmp.Diff(map[string]uint64{c.outcome: 1}, delta); diff != "" {
				t.Errorf("%s counters moved (-want +got):\n%s", c.queue, diff)
			}
			lab.alive(t)
			lab.goodServed(t)
		})
	}
	lab.d.Stop(t)
}

// updateHostile rewrites fixtures/hostile from the frames TestHostileVM
// crafts; without it the test checks that they are still the same.
var updateHostile = flag.Bool("update-hostile", false, "rewrite fixtures/hostile from the frames TestHostileVM crafts")

// hostileFixtures is where the crafted frames are kept, from e2e/.
const hostileFixtures = "../fixtures/hostile"

// hostileManifest lists the fixtures with what the daemon must make of
// them: file, queue, outcome, number of replies.
const hostileManifest = "cases.txt"

// fixtureName is the file name of a case's frame.
func (c hostileCase) fixtureName() string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(c.name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-") + ".frame"
}

// checkHostileFixtures compares every case's frame and expectations with
// fixtures/hostile, or rewrites them all under -update-hostile, so that the
// regression packets replayed without root (TestHostileFixturesReplay) are
// the ones this test sends.
func checkHostileFixtures(t *testing.T, cases []hostileCase) {
	t.Helper()
	var manifest strings.Builder
	manifest.WriteString("# Crafted frames of e2e/hostile_test.go (regenerate: go test ./e2e -run TestHostileVM -update-hostile).\n")
	manifest.WriteString("# file queue outcome replies\n")
	for _, c := range cases {
		fmt.Fprintf(&manifest, "%s %s %s %d\n", c.fixtureName(), c.queue, c.outcome, len(c.want))
		path := filepath.Join(hostileFixtures, c.fixtureName())
		if *updateHostile {
			if err := os.WriteFile(path, c.frame, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		stored, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(stored, c.frame) {
			t.Errorf("%s differs from the frame of case %q (%v): run with -update-hostile after checking the change", path, c.name, err)
		}
	}
	path := filepath.Join(hostileFixtures, hostileManifest)
	if *updateHostile {
		if err := os.WriteFile(path, []byte(manifest.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if stored, err := os.ReadFile(path); err != nil || string(stored) != manifest.String() {
		t.Errorf("%s differs from the cases (%v): run with -update-hostile after checking the change", path, err)
	}
}
