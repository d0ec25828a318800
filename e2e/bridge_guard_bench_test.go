package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// guardBenchVMs returns 1,000 bridged bindings on TAPs brg0…brg999, each
// with an IPv6 address and the first 500 with an IPv4 address too (the
// documentation ranges hold no more): 6 or 7 set elements each (port, MAC,
// IPv4, two IPv6 sources, two NA targets), one more for every tenth, which
// is MACSPOOF; 6,600 in all. The guard matches TAPs by name, so they need
// not exist.
func guardBenchVMs() []*binding.Active {
	var as []*binding.Active
	for i := range benchBindings {
		b := benchBinding(i, fmt.Sprintf("brg%d", i), 0x17, netip.MustParsePrefix("2001:db8:17::/64"))
		b.Indev, b.MACSpoof = "br0", i%10 == 0
		as = append(as, &binding.Active{Binding: b, TapIndex: 200000 + i})
	}
	return as
}

// guardNftScript is the same ruleset as an nft script: the static part
// and every element, for one `nft -f`.
func guardNftScript(t testing.TB, vms []*binding.Active) string {
	t.Helper()
	cfg := routing.DefaultConfig()
	cfg.BridgeGuard = true
	desired, err := routing.Desired(cfg, vms)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(routing.GuardScript())
	bySet := map[string][]string{}
	for _, e := range desired.GuardElems {
		v := fmt.Sprintf("%q", e.Dev)
		switch {
		case e.MAC != "":
			v += " . " + e.MAC
		case e.Set == routing.GuardSetTarget:
			// nft types the NA target field as a 128-bit number.
			v += fmt.Sprintf(" . 0x%x", e.Addr.AsSlice())
		case e.Addr.IsValid():
			v += " . " + e.Addr.String()
		}
		bySet[e.Set] = append(bySet[e.Set], v)
	}
	for _, set := range routing.GuardSets {
		if len(bySet[set]) > 0 {
			fmt.Fprintf(&b, "add element bridge %s %s { %s }\n", routing.TableName, set, strings.Join(bySet[set], ", "))
		}
	}
	return b.String()
}

// guardBenchHost is an empty namespace and the routing module's kernel
// view of it.
type guardBenchHost struct {
	ns     *Netns
	kernel *routing.Netlink
	cfg    routing.Config
	vms    []*binding.Active
}

func newGuardBenchHost(t testing.TB) *guardBenchHost {
	t.Helper()
	requirePrereqs(t, "nft")
	h := &guardBenchHost{ns: newBrgNetns(t, "bench"), vms: guardBenchVMs()}
	h.kernel = benchKernel(t, h.ns)
	h.cfg = routing.DefaultConfig()
	h.cfg.BridgeGuard = true
	return h
}

// wantElements is how many elements the guard holds for h's bindings.
func (h *guardBenchHost) wantElements(t testing.TB) int {
	d, err := routing.Desired(h.cfg, h.vms)
	if err != nil {
		t.Fatal(err)
	}
	return len(d.GuardElems)
}

// clean removes the table.
func (h *guardBenchHost) clean(t testing.TB) {
	t.Helper()
	_, _ = h.ns.Try("nft", "delete", "table", "bridge", routing.TableName)
}

// count returns how many elements the kernel holds, through nft.
func (h *guardBenchHost) count(t testing.TB) int {
	t.Helper()
	out := h.ns.Run(t, "nft", "list", "table", "bridge", routing.TableName)
	return strings.Count(out, `"brg`)
}

// sync converges the guard of h's bindings from an empty namespace with a
// new reconciler (a daemon's first pass).
func (h *guardBenchHost) sync(t testing.TB) {
	t.Helper()
	r := routing.NewReconciler(h.cfg, h.kernel, routing.Options{})
	if err := r.Sync(binding.NewSnapshot(h.vms)); err != nil {
		t.Fatal(err)
	}
}

// nftLoad loads script with one nft -f.
func (h *guardBenchHost) nftLoad(t testing.TB, script string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "guard.nft")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", h.ns.Name, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("e2e: nft -f: %v: %s", err, out)
	}
}

// TestBridgeGuardThousandBindings converges the guard of 1,000 bindings
// into an empty namespace in under a second (the best of three passes:
// the machine is shared), checks that nft lists every element, and that
// a daemon restarting over it (a new reconciler) makes no change.
func TestBridgeGuardThousandBindings(t *testing.T) {
	if os.Getenv(raceEnv) != "" {
		t.Skip("a timing check of the routing package, which the unit race pass covers")
	}
	h := newGuardBenchHost(t)
	want := h.wantElements(t)
	best := time.Hour
	for range 3 {
		h.clean(t)
		start := time.Now()
		h.sync(t)
		best = min(best, time.Since(start))
		if got := h.count(t); got != want {
			t.Fatalf("nft lists %d elements, want %d", got, want)
		}
	}
	t.Logf("1,000 bindings (%d elements) converged in %v (best of 3)", want, best.Round(time.Millisecond))
	if best > time.Second {
		t.Errorf("1,000 bindings took %v to converge, want under 1 s", best)
	}
	start := time.Now()
	h.sync(t)
	t.Logf("a restarted daemon's first pass over them: %v", time.Since(start).Round(time.Millisecond))
	if got := h.count(t); got != want {
		t.Errorf("after the restart nft lists %d elements, want %d", got, want)
	}
}

// BenchmarkBridgeGuardInstall installs the bridge guard of 1,000 bindings
// into an empty namespace: through the routing module (a reconciler's
// first pass: table, then the elements in batched netlink transactions),
// and with `nft -f` of the same ruleset; then the cost of adding one
// binding to 999 through the module.
func BenchmarkBridgeGuardInstall(b *testing.B) {
	h := newGuardBenchHost(b)
	want := h.wantElements(b)
	check := func(b *testing.B) {
		b.StopTimer()
		defer b.StartTimer()
		if got := h.count(b); got != want {
			b.Fatalf("nft lists %d elements, want %d", got, want)
		}
	}
	b.Run("reconciler-sync", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			h.clean(b)
			b.StartTimer()
			h.sync(b)
			check(b)
		}
	})
	b.Run("nft-f", func(b *testing.B) {
		script := guardNftScript(b, h.vms)
		for b.Loop() {
			b.StopTimer()
			h.clean(b)
			b.StartTimer()
			h.nftLoad(b, script)
			check(b)
		}
	})
	b.Run("add-one-binding", func(b *testing.B) {
		h.clean(b)
		r := routing.NewReconciler(h.cfg, h.kernel, routing.Options{})
		without, with := binding.NewSnapshot(h.vms[1:]), binding.NewSnapshot(h.vms)
		if err := r.Sync(without); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := r.Sync(with); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := r.Sync(without); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
