package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/e2e/inject"
)

// A hostileLab is a hypervisor with two bound VMs, both dual-stack: evil
// sends crafted frames, good must keep being served.
type hostileLab struct {
	hv         *Netns
	conf       Config
	d          *Daemon
	socket     string // control socket
	evil, good *Link
	evilIP     netip.Addr
	goodIP     netip.Addr
	evilLL     netip.Addr // the evil VM's link-local address
	tapLL      netip.Addr // the link-local address of the evil VM's TAP
	evilEUI64  netip.Addr
	goodEUI64  netip.Addr
	inj        *inject.Socket
	goodClient *rawDHCPClient
}

// newHostileLab builds the lab: the production rate limit (the default
// config's, not the harness's "off"), stateful DHCPv6 so that every DHCPv6
// message type is handled, and no periodic RAs, so that every RA on the
// link answers a solicitation. The VMs' own IPv6 stacks are off: the only
// packets on their links are the test's.
func newHostileLab(t *testing.T, edit func(Config)) *hostileLab {
	t.Helper()
	hv := newHypervisor(t)
	lab := &hostileLab{
		hv:     hv,
		evil:   connectVM(t, hv, "tap0", vmMAC(0x31)),
		good:   connectVM(t, hv, "tap1", vmMAC(0x32)),
		evilIP: netip.MustParseAddr("192.0.2.30"),
		goodIP: netip.MustParseAddr("192.0.2.31"),
	}
	for i, l := range []*Link{lab.evil, lab.good} {
		l.VM.Run(t, "sysctl", "-q", "-w", "net.ipv6.conf."+l.VMIf+".disable_ipv6=1")
		// Fixed TAP MACs make the crafted frames (whose NS targets include
		// the TAP's link-local address) the same on every run, so that
		// they can be kept in fixtures/hostile.
		l.TapMAC = hostileTapMAC(i)
		hv.Run(t, "ip", "link", "set", l.Tap, "address", l.TapMAC.String())
	}
	conf := defaultConfig(newDatapath(t))
	delete(conf["general"], "rate_limit")
	conf.set("ipv6", "mode", "dhcpv6")
	conf.set("ipv6", "ra_period", "0")
	if edit != nil {
		edit(conf)
	}
	lab.conf = conf
	lab.socket = conf["general"]["control_socket"]
	lab.d = startDaemon(t, hv, conf)
	for _, b := range []struct {
		l  *Link
		ip netip.Addr
	}{{lab.evil, lab.evilIP}, {lab.good, lab.goodIP}} {
		lab.d.WriteBinding(t, b.l.Tap, vmBinding(b.l, b.ip.String(), "vm-"+b.l.Tap, "SUBNET6", v6Subnet, "GATEWAY6", v6Gateway))
		lab.d.WaitLog(t, 3*time.Second, "binding: active", "TAP="+b.l.Tap)
	}
	var err error
	mustAddr := func(a netip.Addr, err error) netip.Addr {
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	lab.evilLL = mustAddr(binding.LinkLocal(lab.evil.VMMAC))
	lab.tapLL = mustAddr(binding.LinkLocal(lab.evil.TapMAC))
	lab.evilEUI64 = mustAddr(binding.EUI64(lab.evil.VMMAC, netip.MustParsePrefix(v6Subnet)))
	lab.goodEUI64 = mustAddr(binding.EUI64(lab.good.VMMAC, netip.MustParsePrefix(v6Subnet)))
	err = lab.evil.VM.Do(func() error {
		s, err := inject.Open(lab.evil.VMIf)
		lab.inj = s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.inj.Close() })
	lab.goodClient = rawClient(t, lab.good, lab.good.VMMAC)
	return lab
}

// hostileTapMAC is the MAC of the lab's TAP i (0: evil, 1: good).
func hostileTapMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0xfe, 0x54, 0x00, 0xe2, 0xe0, byte(0x31 + i)}
}

// alive fails the test when the daemon has exited.
func (lab *hostileLab) alive(t *testing.T) {
	t.Helper()
	select {
	case <-lab.d.done:
		t.Fatalf("the daemon exited: %v", lab.d.waited)
	default:
	}
}

// goodServed checks that the good VM gets its OFFER.
func (lab *hostileLab) goodServed(t *testing.T) {
	t.Helper()
	reply, err := lab.goodClient.exchange(dhcpRequest{Type: layers.DHCPMsgTypeDiscover}, 2*time.Second)
	if err != nil {
		t.Fatalf("the good VM got no answer: %v", err)
	}
	if !isOffer(reply) || yourIP(reply) != lab.goodIP {
		t.Fatalf("the good VM got %s, want an OFFER of %v", describeReply(reply), lab.goodIP)
	}
}

// queueCounters returns the counters of one queue by outcome.
func queueCounters(t *testing.T, socket, queue string) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, c := range status(t, socket).Counters {
		if c.Queue == queue && c.Packets > 0 {
			m[c.Outcome] = c.Packets
		}
	}
	return m
}

// counterDelta waits until the counters of queue moved from before by want
// packets in total (up to 3 s) and returns the change by outcome.
func counterDelta(t *testing.T, socket, queue string, before map[string]uint64, want uint64) map[string]uint64 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		delta := map[string]uint64{}
		var total uint64
		for o, n := range queueCounters(t, socket, queue) {
			if d := n - before[o]; d > 0 {
				delta[o] = d
				total += d
			}
		}
		if total >= want || time.Now().After(deadline) {
			return delta
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// describeFrame names a reply frame from the host: "dhcpv4 Offer
// 192.0.2.30", "dhcpv6 Advertise", "ra", "na TARGET", or "other ..." for
// anything else. Frames from other sources give "".
func describeFrame(frame []byte, from net.HardwareAddr) string {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok || eth.SrcMAC.String() != from.String() {
		return ""
	}
	if d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok {
		return fmt.Sprintf("dhcpv4 %v %v", dhcpMsgType(d), d.YourClientIP)
	}
	if d, ok := p.Layer(layers.LayerTypeDHCPv6).(*layers.DHCPv6); ok {
		// gopacket misspells Advertise: name the types the daemon sends.
		names := map[layers.DHCPv6MsgType]string{layers.DHCPv6MsgTypeAdverstise: "Advertise", layers.DHCPv6MsgTypeReply: "Reply"}
		if n, ok := names[d.MsgType]; ok {
			return "dhcpv6 " + n
		}
		return fmt.Sprintf("dhcpv6 type %d", d.MsgType)
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		switch ic.TypeCode.Type() {
		case layers.ICMPv6TypeRouterAdvertisement:
			return "ra"
		case layers.ICMPv6TypeRouterSolicitation, layers.ICMPv6TypeNeighborSolicitation, layers.ICMPv6TypeMLDv2MulticastListenerReportMessageV2:
			// The hypervisor's own stack on the TAP (router
			// solicitations, DAD, MLD reports): not replies.
			return ""
		case layers.ICMPv6TypeNeighborAdvertisement:
			if len(ic.Payload) >= 20 {
				target, _ := netip.AddrFromSlice(ic.Payload[4:20])
				return "na " + target.String()
			}
			return "na ?"
		}
		return fmt.Sprintf("other icmpv6 %v", ic.TypeCode)
	}
	return fmt.Sprintf("other %v", p.Layers()[len(p.Layers())-1].LayerType())
}

// replies collects for d the frames the evil VM's TAP sends it and names
// them, sorted.
func (lab *hostileLab) replies(t *testing.T, d time.Duration) []string {
	t.Helper()
	frames, err := lab.inj.Collect(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range frames {
		if s := describeFrame(f, lab.evil.TapMAC); s != "" {
			got = append(got, s)
		}
	}
	sort.Strings(got)
	return got
}
