package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/e2e/inject"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// The bridged lab of the bridge guard (issue 17): a host namespace with
// bridge br0 and three VMs on it, each bound with INDEV=br0: a good VM, a
// rogue VM running dnsmasq as a DHCP server and radvd as a router, and a
// spoofer that forges frames in the good VM's name.
const (
	brgGoodIP    = "192.0.2.10"
	brgRogueIP   = "192.0.2.11"
	brgSpoofIP   = "192.0.2.12"
	brgRogueLow  = "192.0.2.200"
	brgRogueHigh = "192.0.2.220"
	// brgRoguePrefix is what the rogue router advertises; the daemon
	// advertises v6Subnet.
	brgRoguePrefix = "2001:db8:bad::"
	// brgSpoofs is how many frames of each forgery the spoofer sends.
	brgSpoofs = 3
)

// newBrgNetns creates a namespace "brg-ROLE-PID-RAND", deleted when the
// test ends.
func newBrgNetns(t testing.TB, role string) *Netns {
	t.Helper()
	n := &Netns{Name: "brg-" + role + "-" + uniqueSuffix(t)}
	netnstest.NewNamespace(t, n.Name)
	return n
}

// connectBrgVM is connectVM with a brg- namespace named after the VM's role.
func connectBrgVM(t testing.TB, hv *Netns, tap, role string, mac net.HardwareAddr) *Link {
	t.Helper()
	vm := newBrgNetns(t, role)
	l := &Link{Tap: tap, VM: vm, VMIf: "eth0", VMMAC: mac}
	hv.Run(t, "ip", "link", "add", tap, "type", "veth", "peer", "name", l.VMIf, "netns", vm.Name)
	vm.Run(t, "ip", "link", "set", l.VMIf, "address", mac.String())
	vm.Run(t, "ip", "link", "set", l.VMIf, "up")
	hv.Run(t, "ip", "link", "set", tap, "up")
	l.TapMAC = linkMAC(t, hv, tap)
	return l
}

type guardLab struct {
	hv                   *Netns
	good, rogue, spoofer *Link
	conf                 Config
	d                    *Daemon
}

// newGuardLab builds the lab and starts the rogue's servers; the daemon is
// not running yet.
func newGuardLab(t *testing.T) *guardLab {
	t.Helper()
	requirePrereqs(t, "nft", "tcpdump", "dnsmasq", "radvd", "udhcpc", "dhclient", "rdisc6")
	lab := &guardLab{hv: newBrgNetns(t, "hv")}
	installBridgedQueueRules(t, lab.hv)
	lab.good = connectBrgVM(t, lab.hv, "tap0", "good", vmMAC(1))
	lab.rogue = connectBrgVM(t, lab.hv, "tap1", "rogue", vmMAC(2))
	lab.spoofer = connectBrgVM(t, lab.hv, "tap2", "spoof", vmMAC(3))
	addBridge(t, lab.hv, "br0", "tap0", "tap1", "tap2")
	for _, l := range []*Link{lab.good, lab.rogue, lab.spoofer} {
		v6WaitLinkLocal(t, l)
	}
	lab.rogue.VM.Run(t, "ip", "addr", "add", brgRogueIP+"/24", "dev", "eth0")
	lab.startRogueServers(t)

	lab.conf = defaultConfig(newDatapath(t))
	lab.conf.set("routing", "enable_routing", "yes")
	lab.conf.set("routing", "role", "none")
	lab.conf.set("routing", "bridge_guard", "yes")
	return lab
}

// startRogueServers runs dnsmasq (DHCPv4 from brgRogueLow to brgRogueHigh)
// and radvd (brgRoguePrefix, every 3–4 s) on the rogue VM until the test
// ends, with their files in a temporary directory.
func (lab *guardLab) startRogueServers(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	radvdConf := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(radvdConf, []byte(`interface eth0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	prefix `+brgRoguePrefix+`/64 { };
};
`), 0o644); err != nil {
		t.Fatal(err)
	}
	lab.rogue.VM.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	for _, argv := range [][]string{
		{"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--bind-interfaces", "--interface=eth0",
			"--user=root", "--log-dhcp", "--no-ping", "--dhcp-range=" + brgRogueLow + "," + brgRogueHigh + ",255.255.255.0,1h",
			"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "dnsmasq.pid")},
		{"radvd", "-n", "-m", "stderr", "-C", radvdConf, "-p", filepath.Join(dir, "radvd.pid")},
	} {
		var out netnstest.SyncBuffer
		cmd := exec.Command("ip", append([]string{"netns", "exec", lab.rogue.VM.Name}, argv...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("e2e: start %s: %v", argv[0], err)
		}
		name := argv[0]
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Logf("%s on the rogue VM:\n%s", name, out.String())
		})
	}
}

// startDaemon starts the daemon with the lab's configuration and binds the
// three VMs (INDEV=br0, IPv4 and IPv6), waiting until the guard holds them.
func (lab *guardLab) startDaemon(t *testing.T) {
	t.Helper()
	lab.d = startDaemon(t, lab.hv, lab.conf)
	for _, b := range []struct {
		l        *Link
		ip, host string
	}{{lab.good, brgGoodIP, "good"}, {lab.rogue, brgRogueIP, "rogue"}, {lab.spoofer, brgSpoofIP, "spoofer"}} {
		lab.d.WriteBinding(t, b.l.Tap, vmBinding(b.l, b.ip, b.host, "INDEV", "br0", "SUBNET6", v6Subnet, "GATEWAY6", v6Gateway))
	}
	waitUntil(t, 5*time.Second, "the guard to hold tap0, tap1 and tap2", func() bool {
		e := lab.elements(t)
		return e["ports"]["tap0"] && e["ports"]["tap1"] && e["ports"]["tap2"]
	})
}

// elements returns the guard's set elements by set, as nft prints them
// ("tap0", "tap0 . 192.0.2.10"); nil when there is no table.
func (lab *guardLab) elements(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out, err := lab.hv.Try("nft", "list", "table", "bridge", "nfdhcpd")
	if err != nil {
		return nil
	}
	sets := map[string]map[string]bool{}
	elem := regexp.MustCompile(`"(tap\d+)"(?: \. ([0-9a-fx:.]+))?`)
	set := ""
	for _, line := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^\s*set (\S+) \{`).FindStringSubmatch(line); m != nil {
			set = m[1]
			sets[set] = map[string]bool{}
			continue
		}
		if set == "" || strings.Contains(line, "jump guard") {
			continue
		}
		for _, m := range elem.FindAllStringSubmatch(line, -1) {
			e := m[1]
			if m[2] != "" {
				e += " . " + m[2]
			}
			sets[set][e] = true
		}
	}
	return sets
}

// drops returns the guard's counters by name.
func (lab *guardLab) drops(t *testing.T) map[string]uint64 {
	t.Helper()
	out := lab.hv.Run(t, "nft", "list", "counters", "table", "bridge", "nfdhcpd")
	got := map[string]uint64{}
	for _, m := range regexp.MustCompile(`counter (\S+) \{\s*packets (\d+)`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseUint(m[2], 10, 64)
		got[m[1]] = n
	}
	return got
}

// A capture is tcpdump running on a VM's interface, printing the frames
// that match its filter and arrive there.
type capture struct {
	cmd         *exec.Cmd
	out, errOut netnstest.SyncBuffer
}

func startCapture(t *testing.T, l *Link, filter string) *capture {
	t.Helper()
	c := &capture{}
	c.cmd = l.VM.Command(context.Background(), "tcpdump", "-n", "-e", "-l", "-vv", "-Q", "in", "-i", l.VMIf, filter)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.errOut
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("e2e: tcpdump: %v", err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
	waitUntil(t, 5*time.Second, "tcpdump to listen", func() bool { return strings.Contains(c.errOut.String(), "listening on") })
	return c
}

// stop ends the capture and returns what it printed.
func (c *capture) stop() string {
	time.Sleep(200 * time.Millisecond) // let the last frames through
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	_ = c.cmd.Wait()
	return c.out.String()
}

// rogueFilter matches the rogue's DHCP server replies and router
// advertisements.
func (lab *guardLab) rogueFilter() string {
	return fmt.Sprintf("ether src %s and ((udp and src port 67) or (icmp6 and ip6[40] == 134))", lab.rogue.VMMAC)
}

// rogueSeen returns the rogue's DHCP replies and RAs among captured lines.
func rogueSeen(out string) (offers, ras []string) {
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "BOOTP/DHCP, Reply"):
			offers = append(offers, line)
		case strings.Contains(line, "router advertisement"):
			ras = append(ras, line)
		}
	}
	return offers, ras
}

// runRdisc6All solicits routers from l and reports every advertisement
// that arrives within two seconds.
func runRdisc6All(t *testing.T, l *Link) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := l.VM.Command(ctx, "rdisc6", "-n", "-m", "-r", "1", "-w", "2000", l.VMIf).CombinedOutput()
	t.Logf("rdisc6:\n%s", out)
	return string(out)
}

// A forgery is one kind of frame the spoofer sends in the good VM's name:
// the frame, how to recognise it where it lands, and the guard counter
// that must count it.
type forgery struct {
	name    string
	counter string
	frame   []byte
	landed  func(frame []byte) bool
}

// forgeries returns the spoofer's attempts: a frame from the good VM's
// MAC, an ARP reply for the good VM's address, IPv4 and IPv6 from its
// addresses, and a neighbour advertisement for its IPv6 address. All are
// broadcast or all-nodes multicast, so the bridge floods them to the good
// VM unless the guard drops them.
func (lab *guardLab) forgeries(t *testing.T) []forgery {
	t.Helper()
	goodMAC, spoofMAC := lab.good.VMMAC, lab.spoofer.VMMAC
	goodIP, spoofIP := netip.MustParseAddr(brgGoodIP), netip.MustParseAddr(brgSpoofIP)
	good6, err := binding.EUI64(goodMAC, netip.MustParsePrefix(v6Subnet))
	if err != nil {
		t.Fatal(err)
	}
	spoofLL, err := binding.EUI64(spoofMAC, netip.MustParsePrefix("fe80::/64"))
	if err != nil {
		t.Fatal(err)
	}
	bcast4 := netip.MustParseAddr("192.0.2.255")
	allNodes, allNodesMAC := netip.MustParseAddr("ff02::1"), net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	marked := func(marker string) func([]byte) bool {
		return func(f []byte) bool { return bytes.Contains(f, []byte(marker)) }
	}

	fromGoodMAC := inject.UDP4(goodMAC, spoofIP, bcast4, 9, 9, []byte("brg-mac"), 0)

	arp := make([]byte, 0, 42)
	arp = append(arp, inject.Broadcast...)
	arp = append(arp, spoofMAC...)
	arp = append(arp, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2) // Ethernet/IPv4, reply
	arp = append(arp, spoofMAC...)
	arp = append(arp, goodIP.AsSlice()...)
	arp = append(arp, inject.Broadcast...)
	arp = append(arp, goodIP.AsSlice()...)
	arpLanded := func(f []byte) bool {
		return len(f) >= 42 && binary.BigEndian.Uint16(f[12:14]) == 0x0806 &&
			bytes.Equal(f[22:28], spoofMAC) && bytes.Equal(f[28:32], goodIP.AsSlice())
	}

	// NA: override flag, target the good VM's address, target link-layer
	// address option the spoofer's MAC.
	naBody := append([]byte{0x20, 0, 0, 0}, good6.AsSlice()...)
	naBody = append(naBody, 2, 1)
	naBody = append(naBody, spoofMAC...)
	naLanded := func(f []byte) bool {
		return len(f) >= 14+40+24 && binary.BigEndian.Uint16(f[12:14]) == 0x86dd && f[14+6] == 58 &&
			f[14+40] == 136 && bytes.Equal(f[14+40+8:14+40+24], good6.AsSlice())
	}
	// An 802.1Q frame would dodge every check keyed on the EtherType.
	ip4 := inject.UDP4(spoofMAC, goodIP, bcast4, 9, 9, []byte("brg-vlan"), 0)
	tagged := append(append(append([]byte{}, ip4[:12]...), 0x81, 0x00, 0x00, 0x07), ip4[12:]...)
	return []forgery{
		{"802.1Q-tagged IPv4 from the good VM's address", routing.GuardCounterTagged, tagged, marked("brg-vlan")},
		{"Ethernet source of the good VM", routing.GuardCounterMAC, fromGoodMAC, marked("brg-mac")},
		{"ARP reply for the good VM's address", routing.GuardCounterARP, arp, arpLanded},
		{"IPv4 from the good VM's address", routing.GuardCounterIPv4,
			inject.UDP4(spoofMAC, goodIP, bcast4, 9, 9, []byte("brg-ip4"), 0), marked("brg-ip4")},
		{"IPv6 from the good VM's address", routing.GuardCounterIPv6,
			inject.UDP6(spoofMAC, allNodesMAC, good6, allNodes, 9, 9, []byte("brg-ip6"), 0), marked("brg-ip6")},
		{"NA for the good VM's address", routing.GuardCounterNA,
			inject.ICMPv6(spoofMAC, allNodesMAC, spoofLL, allNodes, 136, 0, naBody), naLanded},
	}
}

// spoof sends each forgery brgSpoofs times from the spoofer and returns,
// per forgery, how many of its frames reached the good VM.
func (lab *guardLab) spoof(t *testing.T) map[string]int {
	t.Helper()
	tx, rx := openInject(t, lab.spoofer), openInject(t, lab.good)
	landed := map[string]int{}
	for _, f := range lab.forgeries(t) {
		rx.Drain()
		for range brgSpoofs {
			if err := tx.Send(f.frame); err != nil {
				t.Fatalf("send %s: %v", f.name, err)
			}
		}
		got, err := rx.Collect(300*time.Millisecond, f.landed)
		if err != nil {
			t.Fatal(err)
		}
		landed[f.name] = len(got)
	}
	return landed
}

// TestBridgeGuard runs the bridged lab twice over: without the guard, the
// rogue's DHCP offers and RAs and the spoofer's forgeries reach the good
// VM; with it, the good VM's udhcpc, dhclient and rdisc6 hear the daemon
// only, tcpdump on the good VM sees nothing of the rogue's, every forgery
// is dropped and counted, the guard outlives a daemon restart (adopted,
// its counters intact), and removing a binding removes exactly its set
// elements.
//
// Without the guard the daemon is down: while it runs it answers the bound
// VMs' requests and drops them, so a rogue DHCP server hears them only when
// the capture lets them by (daemon down, queue full: fail-open); the
// rogue's unsolicited RAs reach the VMs either way.
func TestBridgeGuard(t *testing.T) {
	lab := newGuardLab(t)
	top := t // the daemons outlive the subtest that starts them

	t.Run("WithoutGuard", func(t *testing.T) {
		if os.Getenv(raceEnv) != "" {
			t.Skip("no daemon runs here: nothing for the race detector")
		}
		dump := startCapture(t, lab.good, lab.rogueFilter())
		if l, err := runUdhcpc(t, lab.good); err != nil || !strings.HasPrefix(l.IP, "192.0.2.2") {
			t.Errorf("udhcpc without the guard: %+v, %v; want the rogue's lease", l, err)
		}
		if l, err := runDhclient(t, lab.good); err != nil || !strings.HasPrefix(l.IP, "192.0.2.2") {
			t.Errorf("dhclient without the guard: %+v, %v; want the rogue's lease", l, err)
		}
		if out := runRdisc6All(t, lab.good); !strings.Contains(out, brgRoguePrefix) {
			t.Errorf("rdisc6 without the guard did not hear the rogue router")
		}
		offers, ras := rogueSeen(dump.stop())
		t.Logf("without the guard the good VM saw %d rogue DHCP replies and %d rogue RAs", len(offers), len(ras))
		if len(offers) == 0 || len(ras) == 0 {
			t.Errorf("tcpdump on the good VM saw %d rogue DHCP replies and %d rogue RAs, want some of both", len(offers), len(ras))
		}
		for name, n := range lab.spoof(t) {
			if n == 0 {
				t.Errorf("without the guard, %s did not reach the good VM (the test cannot see a drop)", name)
			}
		}
	})

	lab.startDaemon(t)
	d := lab.d

	t.Run("ClientsHearOnlyTheDaemon", func(t *testing.T) {
		before := lab.drops(t)
		dump := startCapture(t, lab.good, lab.rogueFilter())
		start := time.Now()
		for name, run := range map[string]func(testing.TB, *Link) (clientLease, error){
			"udhcpc":   func(t testing.TB, l *Link) (clientLease, error) { return runUdhcpc(t, l) },
			"dhclient": runDhclient,
		} {
			if l, err := run(t, lab.good); err != nil || l.IP != brgGoodIP || l.Hostname != "good" {
				t.Errorf("%s with the guard: %+v, %v; want the daemon's lease of %s", name, l, err, brgGoodIP)
			}
		}
		out := runRdisc6All(t, lab.good)
		if !strings.Contains(out, strings.TrimSuffix(v6Subnet, "/64")) {
			t.Errorf("rdisc6 did not hear the daemon's RA")
		}
		if strings.Contains(out, brgRoguePrefix) {
			t.Errorf("rdisc6 heard the rogue router through the guard")
		}
		// radvd advertises every 3–4 s: wait for one to be dropped (or
		// to get through), so that the capture had something to miss.
		rogueRAs := func() uint64 { return lab.drops(t)[routing.GuardCounterRouter] - before[routing.GuardCounterRouter] }
		for deadline := time.Now().Add(8 * time.Second); rogueRAs() == 0 && time.Now().Before(deadline); {
			if _, ras := rogueSeen(dump.out.String()); len(ras) > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		offers, ras := rogueSeen(dump.stop())
		if len(offers) > 0 || len(ras) > 0 {
			t.Errorf("tcpdump on the good VM saw rogue traffic through the guard:\n%s", strings.Join(append(offers, ras...), "\n"))
		}
		if rogueRAs() == 0 {
			t.Errorf("the guard dropped no rogue RA in 8 s")
		}
		t.Logf("with the guard, over %v: %d rogue RAs dropped", time.Since(start).Round(time.Second),
			lab.drops(t)[routing.GuardCounterRouter]-before[routing.GuardCounterRouter])
	})

	t.Run("ForgeriesDroppedAndCounted", func(t *testing.T) {
		before := lab.drops(t)
		landed := lab.spoof(t)
		after := lab.drops(t)
		for _, f := range lab.forgeries(t) {
			if landed[f.name] != 0 {
				t.Errorf("%s reached the good VM through the guard (%d frames)", f.name, landed[f.name])
			}
			if got := after[f.counter] - before[f.counter]; got != brgSpoofs {
				t.Errorf("%s: counter %s rose by %d, want %d", f.name, f.counter, got, brgSpoofs)
			}
		}
		// The daemon reports the same counters.
		s := guardStatus(t, lab.conf)
		if s.Ports != 3 || s.Dropped[routing.GuardCounterNA] < brgSpoofs {
			t.Errorf("nfdhcpd status: bridge guard %+v, want 3 ports and the NA drops", s)
		}
	})

	t.Run("DaemonDownGuardStays", func(t *testing.T) {
		d.Stop(t)
		before := lab.drops(t)
		dump := startCapture(t, lab.good, lab.rogueFilter())
		// The capture rules let the request by (fail-open): the rogue
		// hears it and answers, the guard drops the answer.
		if l, err := runUdhcpc(t, lab.good); err == nil {
			t.Errorf("udhcpc got a lease with the daemon down: %+v", l)
		}
		offers, ras := rogueSeen(dump.stop())
		if len(offers) > 0 || len(ras) > 0 {
			t.Errorf("tcpdump on the good VM saw rogue traffic with the daemon down:\n%s", strings.Join(append(offers, ras...), "\n"))
		}
		if got := lab.drops(t)[routing.GuardCounterDHCPServer] - before[routing.GuardCounterDHCPServer]; got == 0 {
			t.Errorf("no rogue DHCP reply was dropped: the rogue never answered, so this proves nothing")
		}
	})

	t.Run("RestartAdopts", func(t *testing.T) {
		before, elems := lab.drops(t), lab.elements(t)
		lab.d = startDaemon(top, lab.hv, lab.conf)
		lab.d.WaitLog(t, 5*time.Second, "routing module started")
		waitUntil(t, 5*time.Second, "the first routing pass", func() bool {
			return guardStatus(t, lab.conf).Ports == 3
		})
		for _, line := range lab.d.Log() {
			if strings.Contains(line, `op="guard `) {
				t.Errorf("the restarted daemon changed the guard: %s", line)
			}
		}
		after := lab.drops(t)
		for _, c := range routing.GuardCounters {
			if after[c] < before[c] {
				t.Errorf("counter %s went from %d to %d: the table was rebuilt, not adopted", c, before[c], after[c])
			}
		}
		if got := lab.elements(t); !mapsEqual(got, elems) {
			t.Errorf("the restart changed the elements:\nbefore %v\nafter  %v", elems, got)
		}
		if l, err := runUdhcpc(t, lab.good); err != nil || l.IP != brgGoodIP {
			t.Errorf("udhcpc after the restart: %+v, %v", l, err)
		}
	})

	t.Run("MACSpoofLiftsTheMACCheckOnly", func(t *testing.T) {
		lab.d.WriteBinding(t, "tap2", vmBinding(lab.spoofer, brgSpoofIP, "spoofer", "INDEV", "br0",
			"SUBNET6", v6Subnet, "GATEWAY6", v6Gateway, "MACSPOOF", "yes"))
		waitUntil(t, 5*time.Second, "tap2 in the macspoof set", func() bool { return lab.elements(t)["macspoof"]["tap2"] })
		landed := lab.spoof(t)
		for _, f := range lab.forgeries(t) {
			wantLanded := f.counter == routing.GuardCounterMAC
			if (landed[f.name] > 0) != wantLanded {
				t.Errorf("with MACSPOOF, %s: %d frames reached the good VM, want landed=%v", f.name, landed[f.name], wantLanded)
			}
		}
	})

	t.Run("BindingRemovalIsExact", func(t *testing.T) {
		before := lab.elements(t)
		lab.d.RemoveBinding(t, "tap2")
		waitUntil(t, 5*time.Second, "tap2 to leave the guard", func() bool { return !lab.elements(t)["ports"]["tap2"] })
		after := lab.elements(t)
		for set, elems := range before {
			for e := range elems {
				want := !strings.HasPrefix(e, "tap2")
				if after[set][e] != want {
					t.Errorf("set %s: element %q present %v after removing tap2, want %v", set, e, after[set][e], want)
				}
			}
			for e := range after[set] {
				if !elems[e] {
					t.Errorf("set %s: element %q appeared", set, e)
				}
			}
		}
		lab.d.Stop(t)
	})
}

func mapsEqual(a, b map[string]map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv := b[k]
		if len(av) != len(bv) {
			return false
		}
		for e := range av {
			if !bv[e] {
				return false
			}
		}
	}
	return true
}

// A guardStatusReport is the bridge guard part of `nfdhcpd status -json`.
type guardStatusReport struct {
	Ports   uint64            `json:"ports"`
	Dropped map[string]uint64 `json:"dropped"`
	Error   string            `json:"error"`
}

// guardStatus asks the running daemon of conf for its bridge guard.
func guardStatus(t *testing.T, conf Config) guardStatusReport {
	t.Helper()
	out, errOut, code := runNfdhcpd(t, "status", "-socket", conf["general"]["control_socket"], "-json")
	if code != 0 {
		t.Fatalf("nfdhcpd status: exit %d: %s", code, errOut)
	}
	var s struct {
		Routing *struct {
			BridgeGuard *guardStatusReport `json:"bridge_guard"`
		} `json:"routing"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("nfdhcpd status -json: %v: %s", err, out)
	}
	if s.Routing == nil || s.Routing.BridgeGuard == nil {
		t.Fatalf("nfdhcpd status -json has no bridge guard: %s", out)
	}
	if s.Routing.BridgeGuard.Error != "" {
		t.Errorf("nfdhcpd status: bridge guard counters: %s", s.Routing.BridgeGuard.Error)
	}
	return *s.Routing.BridgeGuard
}
