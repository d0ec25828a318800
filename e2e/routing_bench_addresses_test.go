package e2e

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// The second shape of the routing benchmark (issue 13): every one of the
// 1,000 bindings has IP and EUI64 plus 3 extra IPv4 and 2 extra IPv6
// addresses, a routed /28 and a delegated /56, with antispoofing on: 2
// rules, 9 routes and 3 proxy neighbours per binding (14,000 entries),
// about 4,000 sysctls and 2,000 nftables sets.
//
// The documentation ranges hold 512 IPv4 addresses and each binding needs
// 20 (4 hosts and a /28), so the bindings are spread over 40 routing
// tables (TABLE 1000…1039) of 25 bindings each, every table holding the
// same 500 addresses: the kernel work per entry is the same.
const addrBindingsPerTable = 25

// addrBenchV4 returns the IPv4 address number n (0…511) of the ranges.
func addrBenchV4(n int) netip.Addr {
	if n < 256 {
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(n)})
	}
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(n - 256)})
}

// addrBenchVMs returns the bindings of the second shape.
func addrBenchVMs() []*binding.Active {
	var as []*binding.Active
	for i := range benchBindings {
		mac := net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)}
		b := binding.Binding{Name: fmt.Sprintf("bench%d", i), MAC: mac, Subnet6: netip.MustParsePrefix("2001:db8:1::/64")}
		b.EUI64, _ = binding.EUI64(mac, b.Subnet6)
		b.Table = fmt.Sprint(1000 + i/addrBindingsPerTable)
		j := i % addrBindingsPerTable
		// /28 blocks 0…24 are routed; hosts come after them, from 400 on.
		hosts := 400 + 4*j
		b.IP = addrBenchV4(hosts)
		b.IPs = []netip.Addr{addrBenchV4(hosts + 1), addrBenchV4(hosts + 2), addrBenchV4(hosts + 3)}
		b.Routed4 = []netip.Prefix{netip.PrefixFrom(addrBenchV4(16*j), 28)}
		b.IPs6 = []netip.Addr{
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i), 0, 1}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i), 0, 2}),
		}
		b.Delegated6 = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x40 | byte(i>>8), byte(i)}), 56)}
		as = append(as, &binding.Active{Binding: b, TapIndex: 100000 + i})
	}
	return as
}

// addrBaseline writes what the routing module installs for the second
// shape as the files of the classic tools: two `ip -batch` files, a
// sysctl file and an `nft -f` file with the same sets and rules.
func addrBaseline(b *testing.B, cfg routing.Config, vms []*binding.Active) (v4, v6, sysctls, nft string) {
	b.Helper()
	desired, err := routing.Desired(cfg, vms)
	if err != nil {
		b.Fatal(err)
	}
	var w4, w6, ws, wn strings.Builder
	for _, r := range desired.Rules {
		w := &w4
		if r.V6 {
			w = &w6
		}
		fmt.Fprintf(w, "rule add iif %s lookup %d pref %d protocol %d\n", r.IIF, r.Table, r.Priority, routing.Protocol)
	}
	// Direct routes first: a route via the VM needs the VM's host route.
	routes := append([]routing.Route(nil), desired.Routes...)
	slices.SortStableFunc(routes, func(a, b routing.Route) int {
		return cmp.Compare(btoi(a.Via.IsValid()), btoi(b.Via.IsValid()))
	})
	for _, r := range routes {
		w := &w4
		if r.Dst.Addr().Is6() {
			w = &w6
		}
		via := ""
		if r.Via.IsValid() {
			via = " via " + r.Via.String()
		}
		fmt.Fprintf(w, "route replace %s%s dev %s table %d proto %d\n", r.Dst, via, r.Dev, r.Table, routing.Protocol)
	}
	for _, n := range desired.Neighs {
		fmt.Fprintf(&w6, "neigh replace proxy %s dev %s protocol %d\n", n.Addr, n.Dev, routing.Protocol)
	}
	for _, s := range desired.Sysctls {
		fmt.Fprintf(&ws, "%s = %s\n", strings.ReplaceAll(s.Name, "/", "."), s.Value)
	}
	wn.WriteString("table inet nfdhcpd {\n")
	var rules strings.Builder
	for _, a := range desired.Filter.Antispoof {
		family, typ := "ip", "ipv4_addr"
		if a.V6 {
			family, typ = "ip6", "ipv6_addr"
		}
		set := "src4_" + a.Dev
		if a.V6 {
			set = "src6_" + a.Dev
		}
		elems := make([]string, len(a.Sources))
		for i, p := range a.Sources {
			elems[i] = p.String()
		}
		fmt.Fprintf(&wn, "set %s { type %s; flags interval; auto-merge; elements = { %s } }\n", set, typ, strings.Join(elems, ", "))
		fmt.Fprintf(&rules, "iifname %q meta nfproto ipv%s %s saddr != @%s drop\n", a.Dev, map[bool]string{false: "4", true: "6"}[a.V6], family, set)
	}
	fmt.Fprintf(&wn, "chain forward { type filter hook forward priority filter; policy accept;\n%s}\n}\n", rules.String())
	return w4.String(), w6.String(), ws.String(), wn.String()
}

// addrSysctlReset writes a sysctl file that puts the per-TAP values the
// module sets back to the kernel's defaults, so that every round starts
// from fresh TAPs.
func addrSysctlReset(b *testing.B, cfg routing.Config, vms []*binding.Active) string {
	b.Helper()
	desired, err := routing.Desired(cfg, vms)
	if err != nil {
		b.Fatal(err)
	}
	var w strings.Builder
	for _, s := range desired.Sysctls {
		if !strings.Contains(s.Name, "/bench") {
			continue
		}
		value := "0"
		if strings.HasSuffix(s.Name, "/proxy_delay") {
			value = "80"
		}
		fmt.Fprintf(&w, "%s = %s\n", strings.ReplaceAll(s.Name, "/", "."), value)
	}
	f := filepath.Join(b.TempDir(), "reset.conf")
	if err := os.WriteFile(f, []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return f
}

// checkAddrShape fails the benchmark unless the kernel holds every entry
// of the second shape.
func (h *benchHost) checkAddrShape(b *testing.B) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	routes := h.ns.Run(b, "ip", "route", "show", "table", "all", "proto", fmt.Sprint(routing.Protocol)) +
		h.ns.Run(b, "ip", "-6", "route", "show", "table", "all", "proto", fmt.Sprint(routing.Protocol))
	rules := h.ns.Run(b, "ip", "rule", "show") + h.ns.Run(b, "ip", "-6", "rule", "show")
	neighs := h.ns.Run(b, "ip", "-6", "neigh", "show", "proxy")
	// ip lists some IPv6 routes of "table all" twice: count each once.
	got := len(uniqueLines(routes, "dev bench")) + countLines(rules, "iif bench") + countLines(neighs, "proxy")
	if want := 14 * benchBindings; got != want {
		b.Fatalf("e2e: %d entries installed, want %d (routes %d, rules %d, neighs %d)", got, want, len(uniqueLines(routes, "dev bench")), countLines(rules, "iif bench"), countLines(neighs, "proxy"))
	}
	sets := h.ns.Run(b, "nft", "list", "sets", "inet")
	if got := countLines(sets, "set src"); got != 2*benchBindings {
		b.Fatalf("e2e: %d nftables sets, want %d", got, 2*benchBindings)
	}
}

// BenchmarkRoutingInstallAddresses installs the second shape into an
// empty namespace: with a whole reconciler sync (rules, routes, proxy
// neighbours, sysctls and the nftables sets, after reading the kernel),
// and with `ip -batch` (IPv4 and IPv6), `sysctl -p` and `nft -f` doing the
// same.
func BenchmarkRoutingInstallAddresses(b *testing.B) {
	h := newBenchHost(b)
	h.vms = addrBenchVMs()
	h.cfg.Antispoof = true
	reset := addrSysctlReset(b, h.cfg, h.vms)
	cleanAll := func(b *testing.B) {
		h.clean(b)
		b.StopTimer()
		defer b.StartTimer()
		h.ns.Run(b, "sysctl", "-q", "-p", reset)
	}
	b.Run("reconciler-sync", func(b *testing.B) {
		snap := binding.NewSnapshot(h.vms)
		for b.Loop() {
			cleanAll(b)
			r := routing.NewReconciler(h.cfg, h.kernel, routing.Options{})
			if err := r.Sync(snap); err != nil {
				msg := err.Error()
				b.Fatal(msg[max(0, len(msg)-300):])
			}
			h.checkAddrShape(b)
		}
	})
	b.Run("ip-batch+sysctl+nft", func(b *testing.B) {
		v4, v6, sysctls, nft := addrBaseline(b, h.cfg, h.vms)
		dir := b.TempDir()
		sysctlFile, nftFile := filepath.Join(dir, "sysctl.conf"), filepath.Join(dir, "nfdhcpd.nft")
		if err := os.WriteFile(sysctlFile, []byte(sysctls), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(nftFile, []byte(nft), 0o644); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			cleanAll(b)
			ipBatch(b, h.ns, v4, "-4")
			ipBatch(b, h.ns, v6, "-6")
			for _, argv := range [][]string{{"sysctl", "-q", "-p", sysctlFile}, {"nft", "-f", nftFile}} {
				if out, err := exec.Command("ip", append([]string{"netns", "exec", h.ns.Name}, argv...)...).CombinedOutput(); err != nil {
					b.Fatalf("e2e: %s: %v: %s", argv[0], err, out)
				}
			}
			h.checkAddrShape(b)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uniqueLines returns the distinct lines of text that contain sub.
func uniqueLines(text, sub string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			m[l] = true
		}
	}
	return m
}
