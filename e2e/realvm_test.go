package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/e2e/vm"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// vmCacheEnv names the directory where the guest's kernel and initramfs
// are cached between runs (the Makefile passes bin/vm-cache); unset, the
// tests use ../bin/vm-cache.
const vmCacheEnv = "NFDHCPD_VM_CACHE"

// vmBootTimeout bounds a guest's boot to its result line. A TCG guest
// needs seconds on an idle machine; a loaded CI machine may need many more.
const vmBootTimeout = 3 * time.Minute

var vmImage struct {
	once sync.Once
	img  *vm.Image
	err  error
}

// realVMImage returns the guest image, built once per test binary.
func realVMImage(t *testing.T) *vm.Image {
	t.Helper()
	requirePrereqs(t, vm.QEMU, "busybox", "dhclient", "tcpdump", "dpkg-deb", "apt-get", "apt-cache", "ldd")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		netnstest.MissingPrerequisite(t, "need /dev/net/tun for QEMU's TAP: %v", err)
	}
	vmImage.once.Do(func() {
		dir := os.Getenv(vmCacheEnv)
		if dir == "" {
			dir = filepath.Join("..", "bin", "vm-cache")
		}
		if dir, vmImage.err = filepath.Abs(dir); vmImage.err != nil {
			return
		}
		start := time.Now()
		vmImage.img, vmImage.err = vm.Build(dir, vm.BuildOptions{UpdateLists: os.Getenv("CI") == "true", Log: t.Logf})
		t.Logf("guest image ready in %v: %+v", time.Since(start).Round(time.Millisecond), vmImage.img)
	})
	if errors.Is(vmImage.err, vm.ErrMissing) {
		netnstest.MissingPrerequisite(t, "%v", vmImage.err)
	}
	if vmImage.err != nil {
		t.Fatalf("e2e: %v", vmImage.err)
	}
	return vmImage.img
}

// A realGuest is one QEMU guest of the routed topology.
type realGuest struct {
	Name  string
	Tap   string
	MAC   string
	IP    string
	EUI64 string
	Host  *routedHost
	Guest *vm.Guest
	QMP   string
	// owner is the test that outlives the guest: its end kills QEMU.
	owner *testing.T
}

func newRealGuest(t *testing.T, name, tap, mac, ip string, host *routedHost) *realGuest {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	eui, err := binding.EUI64(hw, netip.MustParsePrefix(rtSubnet6))
	if err != nil {
		t.Fatal(err)
	}
	return &realGuest{Name: name, Tap: tap, MAC: mac, IP: ip, EUI64: eui.String(), Host: host, owner: t}
}

// start boots the guest on its host with QEMU's script= and downscript=
// set to ifup and ifdown (run with env), asking /init for the checks in
// params (nil: a diskless netboot guest).
func (g *realGuest) start(t *testing.T, ifup, ifdown string, env []string, params map[string]string) {
	t.Helper()
	g.startWith(t, vm.Config{IfUp: ifup, IfDown: ifdown, Env: env, Params: params, Netboot: params == nil})
}

// startWith boots the guest with cfg completed by the guest's own name,
// host, TAP, MAC, image and monitor socket.
func (g *realGuest) startWith(t *testing.T, cfg vm.Config) {
	t.Helper()
	cfg.Name, cfg.Netns, cfg.Tap, cfg.MAC, cfg.Log = g.Name, g.Host.NS.Name, g.Tap, g.MAC, t.Logf
	if !cfg.Netboot {
		cfg.Image = realVMImage(t)
	}
	g.QMP = filepath.Join(g.owner.TempDir(), "qmp")
	cfg.QMP = g.QMP
	guest, err := vm.Start(context.Background(), cfg)
	if errors.Is(err, vm.ErrMissing) {
		netnstest.MissingPrerequisite(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	g.Guest = guest
	g.owner.Cleanup(guest.Kill)
}

// checkParams are /init's parameters for the full set of guest checks.
func (g *realGuest) checkParams(dhcpv6 bool) map[string]string {
	p := map[string]string{"vm_eui64": g.EUI64, "vm_ping4": rtGateway, "vm_ping6": rtGateway6}
	if dhcpv6 {
		p["vm_dhcpv6"] = "yes"
	}
	return p
}

// result waits for the guest's NFDVM-RESULT line, logs the timings and
// returns its fields; it fails the test when the guest reports a failure.
func (g *realGuest) result(t *testing.T) map[string]string {
	t.Helper()
	line, _, err := g.Guest.WaitLine("NFDVM-RESULT", 0, vmBootTimeout)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	r := vm.ParseResult(line.Text)
	if r["status"] != "ok" {
		t.Fatalf("guest %s failed its checks: %s", g.Name, line.Text)
	}
	var timing []string
	for _, ev := range []string{"driver", "lease", "slaac"} {
		if l, _, err := g.Guest.WaitLine("NFDVM-EVENT "+ev, 0, 0); err == nil {
			timing = append(timing, fmt.Sprintf("%s %.2fs", ev, l.At.Seconds()))
		}
	}
	timing = append(timing, fmt.Sprintf("all checks %.2fs", line.At.Seconds()))
	t.Logf("real VM %s timing (since QEMU started): %s", g.Name, strings.Join(timing, ", "))
	return r
}

// powerOff makes the guest power itself off and waits for QEMU to exit
// (its downscript has run by then) and for the TAP to be gone.
func (g *realGuest) powerOff(t *testing.T) {
	t.Helper()
	if err := g.Guest.Send("poweroff"); err != nil {
		t.Fatalf("e2e: console of %s: %v", g.Name, err)
	}
	if err := g.Guest.Wait(time.Minute); err != nil {
		t.Fatalf("e2e: %s after poweroff: %v", g.Name, err)
	}
	if out, err := g.Host.NS.Try("ip", "link", "show", g.Tap); err == nil {
		t.Errorf("QEMU exited but %s is still there: %s", g.Tap, out)
	}
}

// ganetiEnv is the environment Ganeti gives kvm-ifup-custom for a routed
// NIC (the TAP itself comes as the first argument from QEMU).
func ganetiEnv(t *testing.T, g *realGuest) []string {
	return []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"NFDHCPD=" + nfdhcpdBinary(t), "NFDHCPD_CONFIG=" + g.Host.Daemon.Conf,
		"MODE=routed", "LINK=500", "INSTANCE=" + g.Name, "MAC=" + g.MAC, "IP=" + g.IP,
		"NETWORK_SUBNET=" + rtSubnet, "NETWORK_GATEWAY=" + rtGateway,
		"NETWORK_SUBNET6=" + rtSubnet6, "NETWORK_GATEWAY6=" + rtGateway6,
		"TAGS=e2e real-vm",
		// Every node's routed TAPs look the same to the guest, so that it
		// keeps its gateways when it migrates.
		"NFDHCPD_TAP_MAC=" + rtTapMAC,
	}
}

// contribHook returns the absolute path of a shipped hook.
func contribHook(t *testing.T, hook string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(contribDir, hook))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// libvirtScripts writes the ifup and ifdown scripts that play libvirtd for
// QEMU: libvirt brings the TAP up itself and then runs its qemu hook with
// the domain's live XML (the TAP's name filled in) on standard input;
// nic holds the attributes of the guest's <nfdhcpd:nic>.
func libvirtScripts(t *testing.T, g *realGuest, nic string) (ifup, ifdown string) {
	t.Helper()
	dir := t.TempDir()
	domain := fmt.Sprintf(`<domain type='qemu' id='3'>
  <name>%s</name>
  <metadata>
    <nfdhcpd:nics xmlns:nfdhcpd="urn:x-nfdhcpd:libvirt:1">
      <nfdhcpd:nic mac="%s" %s/>
    </nfdhcpd:nics>
  </metadata>
  <devices>
    <interface type='ethernet'>
      <mac address='%s'/>
      <target dev='@TAP@' managed='no'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
`, g.Name, g.MAC, nic, g.MAC)
	xml := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(xml, []byte(domain), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := contribHook(t, "libvirt/qemu")
	script := func(name, op, subop, linkUp string) string {
		p := filepath.Join(dir, name)
		body := fmt.Sprintf("#!/bin/sh\n# libvirtd's part for QEMU's %s: %s, then the qemu hook.\nset -eu\n%s\nsed \"s/@TAP@/$1/\" %s | %s %s %s %s -\n",
			name, "the TAP's link", linkUp, xml, hook, g.Name, op, subop)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// libvirt gives the TAP the guest's MAC with fe as first byte.
	tapMAC := "fe" + g.MAC[2:]
	return script("ifup", "started", "begin", `ip link set dev "$1" address `+tapMAC+` up`), script("ifdown", "stopped", "end", ":")
}

// libvirtEnv is what the libvirt hook reads from /etc/default/nfdhcpd.
func libvirtEnv(t *testing.T, g *realGuest) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NFDHCPD=" + nfdhcpdBinary(t), "NFDHCPD_CONFIG=" + g.Host.Daemon.Conf}
}

// wantFields compares a guest's result fields with want.
func wantFields(t *testing.T, name string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("guest %s reported %s=%q, want %q", name, k, got[k], v)
		}
	}
}

// An nsCapture is tcpdump's decoded output over a whole namespace.
type nsCapture struct {
	out, errOut netnstest.SyncBuffer
	cancel      context.CancelFunc
	cmd         *exec.Cmd
}

// startNSCapture runs tcpdump on every interface of ns (including TAPs
// created after it starts) with filter, until the test ends.
func startNSCapture(t *testing.T, ns *Netns, filter string) *nsCapture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &nsCapture{cancel: cancel}
	c.cmd = ns.Command(ctx, "tcpdump", "-i", "any", "-n", "-l", "-vv", filter)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.errOut
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("e2e: tcpdump: %v", err)
	}
	t.Cleanup(c.stop)
	waitUntil(t, 10*time.Second, "tcpdump to listen", func() bool { return strings.Contains(c.errOut.String(), "listening on") })
	return c
}

func (c *nsCapture) stop() {
	c.cancel()
	_ = c.cmd.Wait()
}

// waitFor waits until a captured line contains every one of substrs.
func (c *nsCapture) waitFor(timeout time.Duration, substrs ...string) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range strings.Split(c.out.String(), "\n") {
			if containsAll(l, substrs) {
				return l, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vmState is what a guest may leave behind on its host: the routing
// module's kernel state, the host's neighbours, and the daemon's bindings.
func vmState(t *testing.T, host *routedHost) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(kernelState(t, host.NS))
	b.WriteString(host.NS.Run(t, "ip", "neigh", "show"))
	b.WriteString(host.NS.Run(t, "ip", "-6", "neigh", "show"))
	for _, bd := range status(t, host.Conf["general"]["control_socket"]).Bindings {
		fmt.Fprintf(&b, "binding %s %s %s %s\n", bd.Name, bd.State, bd.MAC, bd.IP)
	}
	return b.String()
}

// waitGone waits until nothing of g is left on host: no binding in the
// daemon's status, no rule, route, neighbour, proxy entry or nft rule that
// names its TAP, MAC or addresses; it fails the test otherwise.
func waitGone(t *testing.T, host *routedHost, g *realGuest) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		state := vmState(t, host)
		left := leftovers(state, g)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s left state on %s: %q\n%s", g.Name, host.NS.Name, left, state)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClean waits until host is back to the state before (taken before
// any guest started), neighbours aside, and fails the test otherwise.
func waitClean(t *testing.T, host *routedHost, before string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := vmState(t, host)
		if withoutNeighbours(after) == withoutNeighbours(before) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s is not back to its state before the guests:\nbefore:\n%s\nafter:\n%s", host.NS.Name, before, after)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leftovers returns the lines of state that mention g's TAP, MAC or
// addresses.
func leftovers(state string, g *realGuest) []string {
	var left []string
	for _, l := range strings.Split(state, "\n") {
		if strings.Contains(l, g.Tap) || strings.Contains(l, g.MAC) || strings.Contains(l, g.IP+" ") || strings.Contains(l, g.EUI64) {
			left = append(left, l)
		}
	}
	return left
}

// withoutNeighbours drops the host's neighbour lines: the router's and the
// other host's entries come and go with traffic; the guest's own are
// checked by leftovers.
func withoutNeighbours(state string) string {
	var keep []string
	for _, l := range strings.Split(state, "\n") {
		if strings.Contains(l, " lladdr ") || strings.Contains(l, "FAILED") || strings.Contains(l, "INCOMPLETE") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// TestRealVM boots real QEMU guests on TAPs that QEMU creates and the
// shipped hooks bind, in the routed setup: a Ganeti guest that is checked
// from inside (DHCPv4 with udhcpc, SLAAC, DHCPv6 with dhclient, pings) and
// outside, live-migrated to the other host and powered off; a libvirt
// guest; a diskless iPXE netboot. Each guest boots once, all at the same
// time (on a loaded machine the scheduler then gives TCG more of the CPU
// overall, and the wall time is that of the slowest guest). The -race pass
// boots only the Ganeti guest.
func TestRealVM(t *testing.T) {
	realVMImage(t)
	rt := newRoutedTopologyAs(t, "vm")
	vmc1, vmc2 := rt.vmc[0], rt.vmc[1]
	clean := map[*routedHost]string{vmc1: vmState(t, vmc1), vmc2: vmState(t, vmc2)}
	race := os.Getenv(raceEnv) != ""
	top := t

	ganeti := newRealGuest(t, "vm-ganeti", "tap0", "52:54:00:14:00:01", "192.0.2.41", vmc1)
	dhcpv6 := startNSCapture(t, vmc1.NS, "udp port 546 or udp port 547")
	ganeti.start(t, contribHook(t, "ganeti/kvm-ifup-custom"), contribHook(t, "ganeti/kvm-ifdown-custom"),
		ganetiEnv(t, ganeti), ganeti.checkParams(true))

	var lv, nb *realGuest
	var tftp *tftpServer
	var nbBinding string
	if !race {
		lv = newRealGuest(t, "vm-libvirt", "tap1", "52:54:00:14:00:02", "192.0.2.42", vmc2)
		ifup, ifdown := libvirtScripts(t, lv, fmt.Sprintf(`ip="%s" subnet="%s" gateway="%s" subnet6="%s" gateway6="%s" mtu="1450"`,
			lv.IP, rtSubnet, rtGateway, rtSubnet6, rtGateway6))
		lv.start(t, ifup, ifdown, libvirtEnv(t, lv), lv.checkParams(false))

		tftp = startTFTP(t, rt.router, map[string]string{
			// What a ROM that is not iPXE gets; a script here so that
			// picking it shows on the console.
			"undionly.kpxe": "#!ipxe\necho NFDVM-IPXE stage=wrong got=BOOTFILE\nsleep 1\nreboot\n",
			// iPXE wraps its console at 80 columns: short lines.
			"boot.ipxe": "#!ipxe\necho NFDVM-IPXE-NET ip=${ip} tftp-server=${66:string}\n" +
				"echo NFDVM-IPXE stage=1 filename=${filename} next-server=${next-server}\n" +
				"chain stage2.ipxe\n",
			// This iPXE has no poweroff: QEMU runs with -no-reboot.
			"stage2.ipxe": "#!ipxe\necho NFDVM-IPXE stage=2 chained\nsleep 1\nreboot\n",
		})
		nb = newRealGuest(t, "vm-netboot", "tap2", "52:54:00:14:00:03", "192.0.2.43", vmc2)
		ifup, ifdown = libvirtScripts(t, nb, fmt.Sprintf(`ip="%s" subnet="%s" gateway="%s" subnet6="%s" gateway6="%s" `+
			`next_server="%s" tftp_server="%s" bootfile="undionly.kpxe" bootfile_ipxe="boot.ipxe"`,
			nb.IP, rtSubnet, rtGateway, rtSubnet6, rtGateway6, rtGateway, rtGateway))
		nb.start(t, ifup, ifdown, libvirtEnv(t, nb), nil)
		// Read while the guest boots: its ifdown removes it.
		nbBinding = bindingText(t, vmc2, nb.Tap)
	}

	t.Run("Ganeti hook guest", func(t *testing.T) {
		r := ganeti.result(t)
		wantFields(t, ganeti.Name, r, map[string]string{
			"ip": ganeti.IP, "mask": "255.255.255.0", "router": rtGateway,
			"dns": "192.0.2.53,192.0.2.54", "domain": "example.org", "hostname": ganeti.Name,
			"lease": "604800", "mtu": "", "ifmtu": "1500",
			"slaac": ganeti.EUI64, "dns6": "2001:db8:53::1", "search6": "example.org.",
			"ping4": "ok", "ping6": "ok",
		})
		if !strings.HasPrefix(r["v6router"], "fe80::") {
			t.Errorf("guest's IPv6 default router = %q, want the TAP's link-local address", r["v6router"])
		}
		// The DHCPv6 reply as it left the host.
		if l, ok := dhcpv6.waitFor(5*time.Second, "dhcp6 reply", "2001:db8:53::1"); !ok {
			t.Errorf("no DHCPv6 reply with DNS server 2001:db8:53::1 seen on %s:\n%s", vmc1.NS.Name, dhcpv6.out.String())
		} else {
			t.Logf("DHCPv6 reply on the host: %s", l)
		}
		values := readBinding(t, vmc1, ganeti.Tap)
		wantFields(t, "binding of "+ganeti.Name, values, map[string]string{
			"MAC": ganeti.MAC, "IP": ganeti.IP, "HOSTNAME": ganeti.Name, "TABLE": "500", "EUI64": ganeti.EUI64,
		})
		for _, dst := range []string{ganeti.IP, ganeti.EUI64} {
			if !reachable(rt.router, dst, 5*time.Second) {
				t.Errorf("the router cannot reach the guest at %s", dst)
			}
		}
	})

	t.Run("libvirt hook guest", func(t *testing.T) {
		if race {
			t.Skip("the -race pass boots only the Ganeti guest")
		}
		r := lv.result(t)
		wantFields(t, lv.Name, r, map[string]string{
			"ip": lv.IP, "router": rtGateway, "dns": "192.0.2.53,192.0.2.54", "hostname": lv.Name,
			"mtu": "1450", "ifmtu": "1450", "slaac": lv.EUI64, "ping4": "ok", "ping6": "ok",
		})
		if !reachable(rt.router, lv.EUI64, 5*time.Second) {
			t.Errorf("the router cannot reach the libvirt guest at %s", lv.EUI64)
		}
		lv.powerOff(t)
		waitGone(t, vmc2, lv)
	})

	t.Run("netboot", func(t *testing.T) {
		if race {
			t.Skip("the -race pass boots only the Ganeti guest")
		}
		if !strings.Contains(nbBinding, "\nBOOTFILE_IPXE=boot.ipxe\n") {
			t.Errorf("the libvirt hook's binding has no BOOTFILE_IPXE=boot.ipxe:\n%s", nbBinding)
		}
		// SeaBIOS's last word once the ROM gave up.
		line, _, err := nb.Guest.WaitAny([]string{"NFDVM-IPXE stage=", "No bootable device"}, 0, vmBootTimeout)
		if err != nil || !strings.Contains(line.Text, "NFDVM-IPXE") {
			t.Fatalf("the iPXE ROM ran no script from the TFTP server (the DHCP reply had no boot file?): %q %v", line.Text, err)
		}
		got := vm.ParseResult(line.Text)
		if net, _, err := nb.Guest.WaitLine("NFDVM-IPXE-NET", 0, 0); err == nil {
			for k, v := range vm.ParseResult(net.Text) {
				got[k] = v
			}
		}
		wantFields(t, nb.Name, got, map[string]string{
			"stage": "1", "filename": "boot.ipxe", "next-server": rtGateway, "tftp-server": rtGateway, "ip": nb.IP,
		})
		chained, _, err := nb.Guest.WaitLine("NFDVM-IPXE stage=2", 0, time.Minute)
		if err != nil {
			t.Fatalf("the iPXE script did not chain-load its second stage: %v", err)
		}
		t.Logf("real VM netboot timing (since QEMU started): BOOTFILE_IPXE script ran at %.2fs, chained script at %.2fs",
			line.At.Seconds(), chained.At.Seconds())
		for _, f := range []string{"boot.ipxe", "stage2.ipxe"} {
			if !tftp.sent(f, nb.IP) {
				t.Errorf("the TFTP server did not send %s to %s", f, nb.IP)
			}
		}
		if tftp.sent("undionly.kpxe", nb.IP) {
			t.Errorf("the iPXE ROM was given BOOTFILE instead of BOOTFILE_IPXE")
		}
		// The script reboots; with -no-reboot QEMU ends, and libvirt's
		// stopped hook unbinds the NIC.
		if err := nb.Guest.Wait(time.Minute); err != nil {
			t.Fatalf("e2e: %v", err)
		}
		waitGone(t, vmc2, nb)
	})

	t.Run("live migration", func(t *testing.T) {
		if race {
			t.Skip("the -race pass boots only the Ganeti guest")
		}
		// As Ganeti migrates a routed NIC: the destination QEMU opens its
		// TAP and waits for the guest; the NIC is configured (ifup) only
		// once the migration has succeeded and the source has stopped.
		dst := newRealGuest(top, ganeti.Name, "tap5", ganeti.MAC, ganeti.IP, vmc2)
		sock := filepath.Join(t.TempDir(), "migration")
		dst.startWith(t, vm.Config{IfDown: contribHook(t, "ganeti/kvm-ifdown-custom"), Env: ganetiEnv(t, dst),
			Params: ganeti.checkParams(true), Incoming: "unix:" + sock})
		waitUntil(t, 30*time.Second, "the destination QEMU's migration socket", func() bool {
			_, err := os.Stat(sock)
			return err == nil
		})
		start := time.Now()
		if err := ganeti.Guest.Migrate("unix:"+sock, 2*time.Minute); err != nil {
			t.Fatalf("e2e: %v", err)
		}
		migrated := time.Since(start)
		if err := ganeti.Guest.Quit(); err != nil {
			t.Fatalf("e2e: stop the source QEMU: %v", err)
		}
		if err := ganeti.Guest.Wait(30 * time.Second); err != nil {
			t.Fatalf("e2e: source QEMU: %v", err)
		}
		// The source's downscript unbound the NIC there, and the source
		// host held no other guest: it is back to where it started.
		waitClean(t, vmc1, clean[vmc1])

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ifup := vmc2.NS.Command(ctx, contribHook(t, "ganeti/kvm-ifup-custom"), dst.Tap)
		ifup.Env = ganetiEnv(t, dst)
		hookStart := time.Now()
		if out, err := ifup.CombinedOutput(); err != nil {
			t.Fatalf("kvm-ifup-custom on the destination: %v: %s", err, out)
		}
		bound := time.Now()
		for _, addr := range []string{dst.IP, dst.EUI64} {
			if !reachable(rt.router, addr, time.Second) {
				t.Errorf("the router cannot reach the migrated guest at %s within 1s of its binding", addr)
			}
		}
		t.Logf("real VM migration: %v to migrate, hook %v, router reached v4 and v6 %v after the binding appeared",
			migrated.Round(time.Millisecond), bound.Sub(hookStart).Round(time.Millisecond), time.Since(bound).Round(time.Millisecond))
		from := len(dst.Guest.Lines())
		if err := dst.Guest.Send("ping " + rtGateway6); err != nil {
			t.Fatal(err)
		}
		if l, _, err := dst.Guest.WaitLine("NFDVM-PING", from, 30*time.Second); err != nil || !strings.HasSuffix(l.Text, " ok") {
			t.Errorf("the migrated guest cannot ping its router: %q %v", l.Text, err)
		}
		ganeti = dst
	})

	t.Run("power off cleans up", func(t *testing.T) {
		ganeti.powerOff(t)
		waitGone(t, ganeti.Host, ganeti)
		// Every guest is gone: both hosts are back to where they started.
		for _, h := range []*routedHost{vmc1, vmc2} {
			waitClean(t, h, clean[h])
		}
	})
}

// readBinding returns the values of host's binding file for tap.
func readBinding(t *testing.T, host *routedHost, tap string) map[string]string {
	t.Helper()
	b, err := binding.ParseFile(filepath.Join(host.Conf["general"]["datapath"], tap))
	if err != nil {
		t.Fatalf("e2e: binding %s: %v", tap, err)
	}
	return b.Values()
}

// bindingText waits up to 30 s for host's binding file for tap (the hook
// writes it as QEMU starts) and returns its text.
func bindingText(t *testing.T, host *routedHost, tap string) string {
	t.Helper()
	path := filepath.Join(host.Conf["general"]["datapath"], tap)
	var text []byte
	waitUntil(t, 30*time.Second, "binding "+path, func() bool {
		var err error
		text, err = os.ReadFile(path)
		return err == nil
	})
	return string(text)
}

// A tftpServer is dnsmasq serving files over TFTP only (--port=0: no DNS,
// and no DHCP without a range).
type tftpServer struct {
	log *netnstest.SyncBuffer
}

// startTFTP serves files (name → content) over TFTP from ns until the
// test ends.
func startTFTP(t *testing.T, ns *Netns, files map[string]string) *tftpServer {
	t.Helper()
	requirePrereqs(t, "dnsmasq")
	dir := t.TempDir()
	root := filepath.Join(dir, "tftp")
	mustMkdir(t, root)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &tftpServer{log: &netnstest.SyncBuffer{}}
	cmd := ns.Command(ctx, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--enable-tftp",
		"--tftp-root="+root, "--user=root", "--log-facility=-", "--pid-file="+filepath.Join(dir, "pid"))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("e2e: start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		t.Logf("dnsmasq (TFTP) log:\n%s", s.log.String())
	})
	waitUntil(t, 5*time.Second, "dnsmasq's TFTP server", func() bool { return strings.Contains(s.log.String(), "TFTP root is") })
	return s
}

// sent reports whether the server logged sending file to client.
func (s *tftpServer) sent(file, client string) bool {
	for _, l := range strings.Split(s.log.String(), "\n") {
		if strings.Contains(l, "sent ") && strings.Contains(l, "/"+file+" to "+client) {
			return true
		}
	}
	return false
}
