package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// benchBindings is the size of the per-VM state benchmark: 1,000 VMs with
// IPv6 (rule, /128 route, proxy neighbour each) of which the first 500 also
// have IPv4 (rule, /32 route): 4,000 kernel entries. The documentation
// ranges hold only 500 usable IPv4 host addresses.
const benchBindings = 1000

// benchVMs returns the bindings of the benchmark, on TAPs bench0…bench999.
func benchVMs() []*binding.Active {
	var as []*binding.Active
	for i := range benchBindings {
		b := benchBinding(i, fmt.Sprintf("bench%d", i), 0, netip.MustParsePrefix("2001:db8:1::/64"))
		as = append(as, &binding.Active{Binding: b, TapIndex: 100000 + i})
	}
	return as
}

// benchBinding returns binding i of a benchmark on TAP name: MAC
// 52:54:00:mac3 and i, its EUI-64 address in subnet6 and, for the first
// 500, an IPv4 address of the documentation ranges (they hold no more).
func benchBinding(i int, name string, mac3 byte, subnet6 netip.Prefix) binding.Binding {
	mac := net.HardwareAddr{0x52, 0x54, 0, mac3, byte(i >> 8), byte(i)}
	b := binding.Binding{Name: name, MAC: mac, Subnet6: subnet6}
	b.EUI64, _ = binding.EUI64(mac, b.Subnet6)
	switch {
	case i < 250:
		b.IP = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	case i < 500:
		b.IP = netip.AddrFrom4([4]byte{198, 51, 100, byte(i - 249)})
	}
	return b
}

// ipCommands returns the ip(8) commands that install the same rules,
// routes and proxy neighbours as the routing module does for vms, marked
// with its protocol so that the module can clean them up: the IPv4 ones
// and the IPv6 ones (to run with -6; a batch line cannot carry it).
func ipCommands(vms []*binding.Active) (v4, v6 []string) {
	for _, vm := range vms {
		tap := vm.Name
		if vm.IP.IsValid() {
			v4 = append(v4,
				fmt.Sprintf("rule add iif %s lookup 500 pref %d protocol %d", tap, routing.BindingRulePriority, routing.Protocol),
				fmt.Sprintf("route replace %s/32 dev %s table 500 proto %d", vm.IP, tap, routing.Protocol))
		}
		v6 = append(v6,
			fmt.Sprintf("rule add iif %s lookup 500 pref %d protocol %d", tap, routing.BindingRulePriority, routing.Protocol),
			fmt.Sprintf("route replace %s/128 dev %s table 500 proto %d", vm.EUI64, tap, routing.Protocol),
			fmt.Sprintf("neigh replace proxy %s dev eth1 protocol %d", vm.EUI64, routing.Protocol))
	}
	return v4, v6
}

// benchHost is a namespace with an uplink and a TAP per benchmark VM.
type benchHost struct {
	ns     *Netns
	kernel *routing.Netlink
	vms    []*binding.Active
	cfg    routing.Config
}

func newBenchHost(b *testing.B) *benchHost {
	b.Helper()
	requirePrereqs(b)
	h := &benchHost{ns: newNetns(b, "rt-bench"), vms: benchVMs()}
	h.ns.Run(b, "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
	h.ns.Run(b, "ip", "link", "set", "eth1", "up")
	var batch strings.Builder
	for _, vm := range h.vms {
		fmt.Fprintf(&batch, "tuntap add %s mode tap\nlink set %s up\n", vm.Name, vm.Name)
	}
	ipBatch(b, h.ns, batch.String())
	h.kernel = benchKernel(b, h.ns)
	h.cfg = routing.DefaultConfig()
	h.cfg.Uplink = "eth1"
	h.cfg.Antispoof = false
	return h
}

// benchKernel opens the routing module's kernel view of ns, closed with t.
func benchKernel(t testing.TB, ns *Netns) *routing.Netlink {
	t.Helper()
	handle, err := netns.GetFromName(ns.Name)
	if err != nil {
		t.Fatalf("e2e: open namespace: %v", err)
	}
	t.Cleanup(func() { handle.Close() })
	kernel, err := routing.NewNetlinkAt(handle)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	t.Cleanup(func() { kernel.Close() })
	return kernel
}

// ipBatch runs `ip -batch` on the lines in ns, with the extra options.
func ipBatch(b *testing.B, ns *Netns, lines string, options ...string) {
	b.Helper()
	f := filepath.Join(b.TempDir(), "batch")
	if err := os.WriteFile(f, []byte(lines), 0o644); err != nil {
		b.Fatal(err)
	}
	args := append([]string{"-n", ns.Name}, options...)
	if out, err := exec.Command("ip", append(args, "-batch", f)...).CombinedOutput(); err != nil {
		b.Fatalf("e2e: ip -batch: %v: %s", err, out)
	}
}

// clean removes every entry of the benchmark, untimed.
func (h *benchHost) clean(b *testing.B) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	r := routing.NewReconciler(h.cfg, h.kernel, routing.Options{})
	if err := r.Sync(binding.NewSnapshot(nil)); err != nil {
		b.Fatalf("e2e: clean up: %v", err)
	}
	// An emptied IPv6 table ceases to exist: ip then fails.
	if out, err := h.ns.Try("ip", "-6", "route", "show", "table", "500"); err == nil && out != "" {
		b.Fatalf("e2e: clean up left routes:\n%s", out)
	}
}

// check fails the benchmark unless the kernel holds every entry.
func (h *benchHost) check(b *testing.B) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	routes := h.ns.Run(b, "ip", "route", "show", "table", "500") + h.ns.Run(b, "ip", "-6", "route", "show", "table", "500")
	rules := h.ns.Run(b, "ip", "rule", "show") + h.ns.Run(b, "ip", "-6", "rule", "show")
	neighs := h.ns.Run(b, "ip", "-6", "neigh", "show", "proxy")
	got := countLines(routes, "dev bench") + countLines(rules, "iif bench") + countLines(neighs, "proxy")
	if want := 4 * benchBindings; got != want {
		b.Fatalf("e2e: %d entries installed, want %d", got, want)
	}
}

// BenchmarkRoutingInstall installs the per-VM rules, routes and proxy
// neighbours of 1,000 bindings into an empty namespace: through the
// routing module's netlink kernel (the entries alone, and a whole
// reconciler sync with sysctls and nftables), with one ip(8) command per
// entry, and with one `ip -batch`.
func BenchmarkRoutingInstall(b *testing.B) {
	h := newBenchHost(b)
	b.Run("netlink-entries", func(b *testing.B) {
		desired, err := routing.Desired(h.cfg, h.vms)
		if err != nil {
			b.Fatal(err)
		}
		var ops []routing.Op
		for _, op := range routing.Diff(desired, routing.State{}) {
			switch op.Entry.(type) {
			case routing.Rule, routing.Route, routing.ProxyNeigh:
				ops = append(ops, op)
			}
		}
		for b.Loop() {
			h.clean(b)
			for _, op := range ops {
				if err := h.kernel.Apply(op); err != nil {
					b.Fatalf("%s: %v", op, err)
				}
			}
			h.check(b)
		}
	})
	b.Run("reconciler-sync", func(b *testing.B) {
		snap := binding.NewSnapshot(h.vms)
		for b.Loop() {
			h.clean(b)
			r := routing.NewReconciler(h.cfg, h.kernel, routing.Options{})
			if err := r.Sync(snap); err != nil {
				b.Fatal(err)
			}
			h.check(b)
		}
	})
	b.Run("ip-per-entry", func(b *testing.B) {
		v4, v6 := ipCommands(h.vms)
		run := func(family, c string) {
			args := []string{"-n", h.ns.Name, family}
			if out, err := exec.Command("ip", append(args, strings.Fields(c)...)...).CombinedOutput(); err != nil {
				b.Fatalf("ip %s %s: %v: %s", family, c, err, out)
			}
		}
		for b.Loop() {
			h.clean(b)
			for _, c := range v4 {
				run("-4", c)
			}
			for _, c := range v6 {
				run("-6", c)
			}
			h.check(b)
		}
	})
	b.Run("ip-batch", func(b *testing.B) {
		v4, v6 := ipCommands(h.vms)
		lines4, lines6 := strings.Join(v4, "\n")+"\n", strings.Join(v6, "\n")+"\n"
		for b.Loop() {
			h.clean(b)
			ipBatch(b, h.ns, lines4, "-4")
			ipBatch(b, h.ns, lines6, "-6")
			h.check(b)
		}
	})
}
