package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/e2e/inject"
)

// The per-VM profiles of TestProfile. Each VM gets values of its own, so a
// client that reported another VM's (or the configuration's) would fail.
var (
	profileUdhcpc = []string{
		"NAMESERVERS", `"198.51.100.1, 198.51.100.2"`, "DOMAIN", "a.example", "SEARCH", `"a.example, example.org"`,
		"NTP", "192.0.2.123", "ROUTES", `"169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254"`,
		"LEASE_TIME", "1800", "IPV6_ONLY", "1800",
	}
	profileDhclient = []string{
		"NAMESERVERS", "198.51.100.9", "DOMAIN", "b.example", "SEARCH", "b.example",
		"NTP", "192.0.2.124", "ROUTES", `"172.16.0.0/12 via 192.0.2.253"`,
	}
	profileDhcpcd = []string{
		"NAMESERVERS", "198.51.100.3", "DOMAIN", "c.example", "SEARCH", `"c.example, eng.c.example"`,
		"NTP", "192.0.2.125", "ROUTES", `"10.0.0.0/8 via 192.0.2.254"`,
	}
	profilePXE = []string{
		"NEXT_SERVER", "192.0.2.5", "TFTP_SERVER", "tftp.example", "BOOTFILE", "pxelinux.0",
		"BOOTFILE_EFI", "grubx64.efi", "BOOTFILE_IPXE", "http://192.0.2.5/boot.ipxe", "IPV6_ONLY", "900",
	}
)

// profileLab is the one topology every TestProfile subtest shares: a
// hypervisor running the daemon in IPv6 slaac mode with RA extras, and a VM
// per client or scenario.
type profileLab struct {
	hv *Netns
	d  *Daemon
	// by role: udhcpc, dhclient, dhcpcd, v6only, pxe, dhcpv6, slaac
	links map[string]*Link
}

func newProfileLab(t *testing.T) *profileLab {
	requirePrereqs(t, "udhcpc", "dhclient", "dhcpcd", "rdisc6")
	lab := &profileLab{hv: newNetns(t, "prof-hv"), links: map[string]*Link{}}
	installQueueRules(t, lab.hv)
	conf := dhcpv4Config(t)
	// Defaults the profiles override; the NTP default reaches the PXE VM.
	conf.set("dhcp", "ntp", "198.51.100.123")
	conf.set("ipv6", "mode", "slaac") // the DHCPv6 queue stays open for IPV6_MODE
	conf.set("ipv6", "ra_period", "2")
	conf.set("ipv6", "router_preference", "high")
	conf.set("ipv6", "route_info", "2001:db8:100::/48 low, 2001:db8:200::/56")
	conf.set("ipv6", "pref64", "64:ff9b::/96")
	roles := []string{"udhcpc", "dhclient", "dhcpcd", "v6only", "pxe", "dhcpv6", "slaac"}
	for i, role := range roles {
		lab.links[role] = connectProfileVM(t, lab.hv, fmt.Sprintf("tap%d", i), vmMAC(byte(100+i)))
	}
	lab.d = startDaemon(t, lab.hv, conf)
	bind := func(role, ip string, kv ...string) {
		l := lab.links[role]
		lab.d.WriteBinding(t, l.Tap, vmBinding(l, ip, "vm-"+role+".tenant.example", kv...))
	}
	bind("udhcpc", "192.0.2.10", profileUdhcpc...)
	bind("dhclient", "192.0.2.11", profileDhclient...)
	bind("dhcpcd", "192.0.2.12", profileDhcpcd...)
	bind("v6only", "192.0.2.13", "IPV6_ONLY", "1800")
	bind("pxe", "192.0.2.14", profilePXE...)
	v6 := func(role string, kv ...string) {
		l := lab.links[role]
		v6WaitLinkLocal(t, l)
		lab.d.WriteBinding(t, l.Tap, v6Binding(l, kv...))
	}
	v6("dhcpv6", "IPV6_MODE", "dhcpv6", "NAMESERVERS6", "2001:db8:99::53", "SEARCH", "v6.example", "LEASE_TIME", "120")
	v6("slaac")
	for _, role := range roles {
		lab.d.WaitLog(t, 3*time.Second, "binding: active", "TAP="+lab.links[role].Tap)
	}
	return lab
}

// connectProfileVM is connectVMNamed with a namespace named for this
// issue's tests and an interface name no other test uses (dhcpcd keeps
// files named after it).
func connectProfileVM(t testing.TB, hv *Netns, tap string, vmMAC net.HardwareAddr) *Link {
	t.Helper()
	vm := newNetns(t, "prof-vm")
	l := &Link{Tap: tap, VM: vm, VMIf: uniqueIfName(t), VMMAC: vmMAC}
	hv.Run(t, "ip", "link", "add", tap, "type", "veth", "peer", "name", l.VMIf, "netns", vm.Name)
	vm.Run(t, "ip", "link", "set", l.VMIf, "address", vmMAC.String())
	vm.Run(t, "ip", "link", "set", l.VMIf, "up")
	hv.Run(t, "ip", "link", "set", tap, "up")
	l.TapMAC = linkMAC(t, hv, tap)
	return l
}

// readHookVars reads the key=value lines a hook script wrote, blanks
// squeezed.
func readHookVars(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return vars, sc.Err()
}

// profileVars are the hook variables the profile tests read, as dhclient
// and dhcpcd name them; classless routes are client-specific.
func profileVars(routes string) [][2]string {
	return [][2]string{
		{"ip", "$new_ip_address"}, {"routers", "$new_routers"}, {"dns", "$new_domain_name_servers"},
		{"domain", "$new_domain_name"}, {"search", "$new_domain_search"}, {"ntp", "$new_ntp_servers"},
		{"routes", routes}, {"lease", "$new_dhcp_lease_time"}, {"v6only", "$new_ipv6_only_preferred"},
	}
}

// runUdhcpcProfile runs udhcpc asking (-O) for what it does not ask for by
// default: search list, NTP servers and classless routes.
func runUdhcpcProfile(t testing.TB, l *Link) (map[string]string, error) {
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	script := writeHookScript(t, dir, `"$1" = bound`, [][2]string{
		{"ip", "$ip"}, {"routers", "$router"}, {"dns", "$dns"}, {"domain", "$domain"}, {"search", "$search"},
		{"ntp", "$ntpsrv"}, {"routes", "$staticroutes"}, {"lease", "$lease"},
	}, out)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	output, err := l.VM.Command(ctx, "udhcpc", "-i", l.VMIf, "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", script,
		"-O", "domain", "-O", "search", "-O", "ntpsrv", "-O", "staticroutes").CombinedOutput()
	t.Logf("udhcpc: %s", output)
	if err != nil {
		return nil, fmt.Errorf("udhcpc: %w", err)
	}
	return readHookVars(out)
}

// runDhclientProfile runs dhclient with option 121 declared and requested,
// as its default configuration does.
func runDhclientProfile(t testing.TB, l *Link) (map[string]string, error) {
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	script := writeHookScript(t, dir, `"$reason" = BOUND`, profileVars("$new_rfc3442_classless_static_routes"), out)
	if err := dhclientUntil(t, l, dir, `timeout 5;
retry 1;
initial-interval 1;
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, routers, domain-name-servers, domain-name, domain-search, ntp-servers,
	rfc3442-classless-static-routes, dhcp-lease-time;
`, script, out); err != nil {
		return nil, err
	}
	return readHookVars(out)
}

// runDhcpcdProfile runs dhcpcd once for IPv4, requesting the profile's
// options. With v6only it also requests option 108 (RFC 8925) and is
// stopped after a few seconds: a dhcpcd told to prefer IPv6-only waits
// instead of binding; its output is returned for the caller to check.
func runDhcpcdProfile(t testing.TB, l *Link, v6only bool) (map[string]string, string, error) {
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	opts := "domain_name_servers,domain_name,domain_search,ntp_servers,classless_static_routes,routers,subnet_mask"
	limit := 10 * time.Second
	if v6only {
		opts += ",ipv6_only_preferred"
		limit = 4 * time.Second
	}
	script := writeHookScript(t, dir, `"$reason" = BOUND`, profileVars("$new_classless_static_routes"), out)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	output, err := l.VM.Command(ctx, dhcpcdArgv("-B", "-1", "-4", "-A", "-L", "-t", "5",
		"-f", "/dev/null", "-c", script, "-o", opts, l.VMIf)...).CombinedOutput()
	t.Logf("dhcpcd: %s", output)
	vars, rerr := readHookVars(out)
	if rerr != nil {
		return nil, string(output), fmt.Errorf("dhcpcd: %v (hook: %v)", err, rerr)
	}
	return vars, string(output), nil
}

// TestProfile gives each real client a binding profile of its own on one
// host and checks what they report: DNS, domain, search list, NTP servers,
// classless routes with the default route kept, lease time; dhcpcd asking
// for IPv6-only gets option 108; crafted PXE requests through the real queue
// get the boot file for their firmware; the IPv6 VMs' RAs follow their
// IPV6_MODE and carry the configured router preference, route information
// and PREF64.
func TestProfile(t *testing.T) {
	lab := newProfileLab(t)

	t.Run("udhcpc", func(t *testing.T) {
		got, err := runUdhcpcProfile(t, lab.links["udhcpc"])
		if err != nil {
			t.Fatal(err)
		}
		checkVars(t, got, map[string]string{
			"ip": "192.0.2.10", "routers": testGateway, "dns": "198.51.100.1 198.51.100.2", "domain": "a.example",
			"search": "a.example example.org", "ntp": "192.0.2.123", "lease": "1800",
			// The default route comes with the classless ones (RFC 3442).
			"routes": "169.254.169.254/32 192.0.2.1 10.0.0.0/8 192.0.2.254 0.0.0.0/0 192.0.2.1",
		})
		// IPV6_ONLY is set, but udhcpc did not ask for option 108: it
		// still got (and reported) its IPv4 lease above.
	})
	t.Run("dhclient", func(t *testing.T) {
		got, err := runDhclientProfile(t, lab.links["dhclient"])
		if err != nil {
			t.Fatal(err)
		}
		checkVars(t, got, map[string]string{
			"ip": "192.0.2.11", "routers": testGateway, "dns": "198.51.100.9", "domain": "b.example",
			"search": "b.example.", "ntp": "192.0.2.124", "lease": testLease,
			"routes": "12 172 16 192 0 2 253 0 192 0 2 1",
		})
	})
	t.Run("dhcpcd", func(t *testing.T) {
		got, _, err := runDhcpcdProfile(t, lab.links["dhcpcd"], false)
		if err != nil {
			t.Fatal(err)
		}
		checkVars(t, got, map[string]string{
			"ip": "192.0.2.12", "routers": testGateway, "dns": "198.51.100.3", "domain": "c.example",
			"search": "c.example eng.c.example", "ntp": "192.0.2.125", "lease": testLease,
			"routes": "10.0.0.0/8 192.0.2.254 0.0.0.0/0 192.0.2.1",
		})
	})
	t.Run("dhcpcd IPv6-only", func(t *testing.T) {
		if os.Getenv(raceEnv) != "" {
			// Six seconds of waiting for dhcpcd to give up, on the same
			// reply path the other subtests already run under -race.
			t.Skip("slow and adds nothing under -race")
		}
		got, output, err := runDhcpcdProfile(t, lab.links["v6only"], true)
		if err == nil {
			t.Errorf("dhcpcd bound IPv4 although told to prefer IPv6-only: %v", got)
		}
		if !strings.Contains(output, "IPv6-Only Preferred received (1800 seconds)") {
			t.Errorf("dhcpcd did not report option 108 of 1800 s:\n%s", output)
		}
	})
	t.Run("PXE", func(t *testing.T) { testProfilePXE(t, lab) })
	t.Run("RA", func(t *testing.T) { testProfileRA(t, lab) })
	t.Run("DHCPv6", func(t *testing.T) {
		// The host's mode is slaac, yet the binding's IPV6_MODE=dhcpv6
		// gets stateful DHCPv6 with its own DNS, search list and lease.
		l := lab.links["dhcpv6"]
		calls := v6RunDhclient(t, l, 10*time.Second, nil, "reason=BOUND6")
		want := fmt.Sprintf("reason=BOUND6 addr=%s/128 pref=120 valid=120 dns=2001:db8:99::53 search=v6.example.", v6EUI64(t, l))
		if !strings.Contains(calls, want) {
			t.Errorf("dhclient -6 calls lack %q:\n%s", want, calls)
		}
	})
}

// checkVars compares the fields of want with what a hook reported.
func checkVars(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// testProfilePXE sends crafted DISCOVERs, as PXE firmware and iPXE send
// them, through the real queue and reads the OFFERs.
func testProfilePXE(t *testing.T, lab *profileLab) {
	l := lab.links["pxe"]
	var sock *inject.Socket
	if err := l.VM.Do(func() (err error) { sock, err = inject.Open(l.VMIf); return err }); err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	prl := inject.Opt(55, 1, 3, 6, 42, 66, 67)
	for _, tt := range []struct {
		name string
		opts [][]byte
		want string
	}{
		{"BIOS", [][]byte{inject.Opt(93, 0, 0)}, "pxelinux.0"},
		{"UEFI x86-64", [][]byte{inject.Opt(93, 0, 7)}, "grubx64.efi"},
		{"UEFI BC", [][]byte{inject.Opt(93, 0, 9)}, "grubx64.efi"},
		{"iPXE", [][]byte{inject.Opt(93, 0, 7), inject.Opt(77, 'i', 'P', 'X', 'E')}, "http://192.0.2.5/boot.ipxe"},
		{"iPXE RFC 3004", [][]byte{inject.Opt(77, 4, 'i', 'P', 'X', 'E')}, "http://192.0.2.5/boot.ipxe"},
	} {
		reply := pxeExchange(t, sock, l.VMMAC, append(append([][]byte{inject.Opt(53, 1), prl}, tt.opts...), inject.End)...)
		if reply == nil {
			t.Fatalf("%s: no OFFER", tt.name)
		}
		file := strings.TrimRight(string(reply.File), "\x00")
		opt67, _ := dhcpOption(reply, layers.DHCPOpt(67))
		opt66, _ := dhcpOption(reply, layers.DHCPOpt(66))
		if file != tt.want || string(opt67) != tt.want || !reply.NextServerIP.Equal(net.IP{192, 0, 2, 5}) || string(opt66) != "tftp.example" {
			t.Errorf("%s: file %q, option 67 %q, siaddr %v, option 66 %q; want %q from 192.0.2.5 (tftp.example)",
				tt.name, file, opt67, reply.NextServerIP, opt66, tt.want)
		}
		if ntp, _ := dhcpOption(reply, layers.DHCPOptNTPServers); !net.IP(ntp).Equal(net.IP{198, 51, 100, 123}) {
			t.Errorf("%s: NTP %v, want the configuration's default", tt.name, net.IP(ntp))
		}
		if _, ok := dhcpOption(reply, 108); ok {
			t.Errorf("%s: option 108 sent to a client that did not ask for it", tt.name)
		}
	}
	// The same binding's IPV6_ONLY goes to a client that asks.
	reply := pxeExchange(t, sock, l.VMMAC, inject.Opt(53, 1), inject.Opt(55, 1, 3, 108), inject.End)
	if v, ok := dhcpOption(reply, 108); !ok || len(v) != 4 || v[2] != 900>>8 || v[3] != 900&0xff {
		t.Errorf("option 108 = % x, %v; want 900 s", v, ok)
	}
}

// pxeExchange broadcasts a DISCOVER with the given options and returns
// the reply with its transaction ID, nil when none came.
func pxeExchange(t *testing.T, sock *inject.Socket, mac net.HardwareAddr, opts ...[]byte) *layers.DHCPv4 {
	t.Helper()
	xid := rand.Uint32()
	m := inject.Request(mac, xid, opts...)
	sock.Drain()
	if err := sock.Send(inject.UDP4(mac, netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255"), 68, 67, m.Bytes(), 0)); err != nil {
		t.Fatal(err)
	}
	var reply *layers.DHCPv4
	_, err := sock.Collect(time.Second, func(frame []byte) bool {
		if reply == nil {
			reply = parseDHCPReply(frame, xid)
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// testProfileRA solicits an RA from the VM with IPV6_MODE=dhcpv6 and from
// its slaac neighbour: only the first has the M flag; both show the
// configured router preference, route information (rdisc6) and PREF64
// (rdisc6 1.0.5 does not print PREF64: the advertisement the VM received
// is parsed with mdlayher/ndp).
func testProfileRA(t *testing.T, lab *profileLab) {
	for _, tt := range []struct{ role, managed, other string }{{"dhcpv6", "Yes", "Yes"}, {"slaac", "No", "No"}} {
		l := lab.links[tt.role]
		var sock *inject.Socket
		if err := l.VM.Do(func() (err error) { sock, err = inject.Open(l.VMIf); return err }); err != nil {
			t.Fatal(err)
		}
		out, err := runRdisc6(t, l)
		if err != nil {
			t.Fatalf("%s: rdisc6: %v: %s", tt.role, err, out)
		}
		ra := parseRdisc6(out)
		if ra.Managed != tt.managed || ra.Other != tt.other {
			t.Errorf("%s: M %q O %q, want %q %q:\n%s", tt.role, ra.Managed, ra.Other, tt.managed, tt.other, out)
		}
		if v6Field(out, "Router preference") != "high" {
			t.Errorf("%s: router preference %q, want high:\n%s", tt.role, v6Field(out, "Router preference"), out)
		}
		for _, want := range []string{"Route                    : 2001:db8:100::/48", "Route                    : 2001:db8:200::/56", "Route preference        :          low"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: rdisc6 does not show %q:\n%s", tt.role, want, out)
			}
		}
		// The next periodic RA (ra_period = 2 s) as the VM receives it.
		var pref64 *ndp.PREF64
		_, err = sock.Collect(3*time.Second, func(frame []byte) bool {
			pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
			icmp, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			if !ok || icmp.TypeCode.Type() != layers.ICMPv6TypeRouterAdvertisement || pref64 != nil {
				return false
			}
			msg, err := ndp.ParseMessage(append(icmp.Contents, icmp.Payload...))
			if err != nil {
				return false
			}
			for _, o := range msg.(*ndp.RouterAdvertisement).Options {
				if p, ok := o.(*ndp.PREF64); ok {
					pref64 = p
				}
			}
			return false
		})
		sock.Close()
		if err != nil {
			t.Fatal(err)
		}
		if pref64 == nil || pref64.Prefix != netip.MustParsePrefix("64:ff9b::/96") {
			t.Errorf("%s: PREF64 %v, want 64:ff9b::/96", tt.role, pref64)
		}
	}
}
