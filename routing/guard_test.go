package routing_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// bridgedVM is vm with its TAP on bridge br0.
func bridgedVM(tap string, index int, mac, ip string, v6 bool) *binding.Active {
	a := vm(tap, index, mac, ip, v6)
	a.Indev = "br0"
	return a
}

// guardConfig is role none with the bridge guard: a host that only bridges.
func guardConfig() routing.Config {
	cfg := routing.DefaultConfig()
	cfg.BridgeGuard = true
	return cfg
}

func TestDesiredBridgeGuard(t *testing.T) {
	spoof := bridgedVM("tap2", 12, "52:54:00:00:00:02", "", false)
	spoof.MACSpoof = true
	got, _ := desiredLines(t, guardConfig(),
		bridgedVM("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true), spoof)
	want := []string{
		"guard macspoof tap2",
		"guard port_ipv4 tap1 . 192.0.2.10",
		"guard port_ipv6 tap1 . 2001:db8:1:0:5054:ff:fe00:1",
		"guard port_ipv6 tap1 . fe80::5054:ff:fe00:1",
		"guard port_ipv6 tap2 . fe80::5054:ff:fe00:2",
		"guard port_mac tap1 . 52:54:00:00:00:01",
		"guard port_mac tap2 . 52:54:00:00:00:02",
		"guard port_target tap1 . 2001:db8:1:0:5054:ff:fe00:1",
		"guard port_target tap1 . fe80::5054:ff:fe00:1",
		"guard port_target tap2 . fe80::5054:ff:fe00:2",
		"guard ports tap1",
		"guard ports tap2",
		"guard table bridge nfdhcpd " + routing.GuardVersion,
	}
	// Bridged TAPs get no routed state: no rules, routes, sysctls or
	// antispoof of their own.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("desired (-want +got):\n%s", diff)
	}
}

func TestSyncBridgeGuardRemovesExactlyAndAdopts(t *testing.T) {
	k := newFakeKernel()
	tap1 := bridgedVM("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	tap2 := bridgedVM("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", false)
	var stats routing.Stats
	r := routing.NewReconciler(guardConfig(), k, routing.Options{Stats: &stats})
	if err := r.Sync(snapshot(tap1, tap2)); err != nil {
		t.Fatal(err)
	}
	if got := stats.Snapshot().GuardPorts; got != 2 {
		t.Errorf("GuardPorts = %d, want 2", got)
	}
	k.takeLog()
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	if got := stats.Snapshot().GuardPorts; got != 1 {
		t.Errorf("GuardPorts after removal = %d, want 1", got)
	}
	want := []string{
		"guard del port_ipv4 tap2 . 192.0.2.11",
		"guard del port_ipv6 tap2 . fe80::5054:ff:fe00:2",
		"guard del port_mac tap2 . 52:54:00:00:00:02",
		"guard del port_target tap2 . fe80::5054:ff:fe00:2",
		"guard del ports tap2",
	}
	if diff := cmp.Diff(want, k.takeLog()); diff != "" {
		t.Errorf("removing tap2 (-want +got):\n%s", diff)
	}
	// A restarted daemon adopts the table: no op at all.
	r = routing.NewReconciler(guardConfig(), k, routing.Options{})
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	if got := k.takeLog(); len(got) != 0 {
		t.Errorf("restart changed the kernel: %q", got)
	}
	// Turning the guard off removes the table, and nothing else.
	r = routing.NewReconciler(routing.DefaultConfig(), k, routing.Options{})
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"guard del table bridge nfdhcpd " + routing.GuardVersion}, k.takeLog()); diff != "" {
		t.Errorf("guard off (-want +got):\n%s", diff)
	}
}

// guardOps returns the bridge guard's ops among ops.
func guardOps(ops []string) []string {
	var out []string
	for _, op := range ops {
		if strings.HasPrefix(op, "guard ") {
			out = append(out, op)
		}
	}
	return out
}

// nft runs nft(8) in the namespace.
func (n *testNetns) nft(t *testing.T, args ...string) string {
	t.Helper()
	return n.exec(t, "nft", args...)
}

// newGuardNetns is newTestNetns with a name of the bridge guard's own
// ("brg-…"), distinct for each role within one test.
func newGuardNetns(t *testing.T, role string) *testNetns {
	t.Helper()
	netnstest.RequireRoot(t)
	requireNft(t)
	name := fmt.Sprintf("brg-%s-%d-%s", role, os.Getpid(), netnstest.RandomHex(3))
	netnstest.NewNamespace(t, name)
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	return &testNetns{name: name, h: h}
}

func requireNft(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		netnstest.MissingPrerequisite(t, "need nft(8): %v", err)
	}
}

func TestNetlinkBridgeGuard(t *testing.T) {
	n := newGuardNetns(t, "k")
	for _, l := range []string{"tap1", "tap2", "tap3"} {
		n.addLink(t, l)
	}
	tap1 := bridgedVM("tap1", 101, "52:54:00:00:00:01", "192.0.2.10", true)
	tap2 := bridgedVM("tap2", 102, "52:54:00:00:00:02", "192.0.2.11", true)
	tap3 := bridgedVM("tap3", 103, "52:54:00:00:00:03", "192.0.2.12", false)
	tap3.MACSpoof = true
	k := newNetlinkKernel(t, n)
	r := routing.NewReconciler(guardConfig(), k, routing.Options{})
	if err := r.Sync(snapshot(tap1, tap2, tap3)); err != nil {
		t.Fatal(err)
	}
	want, _ := desiredLines(t, guardConfig(), tap1, tap2, tap3)
	if diff := cmp.Diff(want, observedLines(t, k, nil)); diff != "" {
		t.Errorf("observed after sync (-want +got):\n%s", diff)
	}
	listed := n.nft(t, "list", "table", "bridge", "nfdhcpd")
	mustContain(t, "nft list", listed, `"tap1" . 52:54:00:00:00:01`, `"tap2" . 192.0.2.11`,
		`"tap3"`, `comment "nfdhcpd bridge guard `+routing.GuardVersion+`"`)

	// Removing tap2 removes its elements and nothing else.
	if err := r.Sync(snapshot(tap1, tap3)); err != nil {
		t.Fatal(err)
	}
	want, _ = desiredLines(t, guardConfig(), tap1, tap3)
	if diff := cmp.Diff(want, observedLines(t, k, nil)); diff != "" {
		t.Errorf("observed after removing tap2 (-want +got):\n%s", diff)
	}
	listed = n.nft(t, "list", "table", "bridge", "nfdhcpd")
	mustNotContain(t, "nft list after removal", listed, `"tap2"`)
	mustContain(t, "nft list after removal", listed, `"tap1" . 192.0.2.10`, `"tap3" . 192.0.2.12`)

	// A restarted daemon (a new kernel view and reconciler) adopts it.
	k2 := newNetlinkKernel(t, n)
	rec := &recordingKernel{Kernel: k2}
	if err := routing.NewReconciler(guardConfig(), rec, routing.Options{}).Sync(snapshot(tap1, tap3)); err != nil {
		t.Fatal(err)
	}
	// (The inet and arp tables are rewritten by every new process: the
	// guard is what must be left alone.)
	if got := guardOps(rec.ops); len(got) != 0 {
		t.Errorf("restart changed the guard: %q", got)
	}

	// An element deleted behind the daemon's back comes back with the
	// next full resync, and only it.
	n.nft(t, "delete", "element", "bridge", "nfdhcpd", "port_mac", `{ "tap1" . 52:54:00:00:00:01 }`)
	rec.ops = nil
	r2 := routing.NewReconciler(guardConfig(), rec, routing.Options{})
	if err := r2.Sync(snapshot(tap1, tap3)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"guard add port_mac tap1 . 52:54:00:00:00:01"}, guardOps(rec.ops)); diff != "" {
		t.Errorf("repair (-want +got):\n%s", diff)
	}

	// A table of another version is rebuilt, elements included.
	n.exec(t, "sh", "-c", `nft delete rule bridge nfdhcpd prerouting handle $(nft -a list chain bridge nfdhcpd prerouting | sed -n 's/.*# handle \([0-9]*\)$/\1/p' | tail -1) && nft add rule bridge nfdhcpd prerouting iifname @ports jump guard comment '"nfdhcpd bridge guard 000000000000"'`)
	rec.ops = nil
	if err := routing.NewReconciler(guardConfig(), rec, routing.Options{}).Sync(snapshot(tap1, tap3)); err != nil {
		t.Fatal(err)
	}
	if len(rec.ops) == 0 || rec.ops[0] != "guard set table bridge nfdhcpd "+routing.GuardVersion {
		t.Errorf("old version not rebuilt first: %q", rec.ops)
	}
	if diff := cmp.Diff(want, observedLines(t, k2, nil)); diff != "" {
		t.Errorf("observed after rebuild (-want +got):\n%s", diff)
	}

	// A table deleted behind the daemon's back: the next change fails,
	// one error per op, and the full resync after it rebuilds everything.
	n.nft(t, "delete", "table", "bridge", "nfdhcpd")
	r3 := routing.NewReconciler(guardConfig(), k2, routing.Options{})
	if err := r3.Sync(snapshot(tap1, tap3)); err != nil {
		t.Fatal(err)
	}
	n.nft(t, "delete", "table", "bridge", "nfdhcpd")
	err := r3.Sync(snapshot(tap1, tap2, tap3))
	if err == nil || !strings.Contains(err.Error(), "guard add ports tap2") || !strings.Contains(err.Error(), "guard add port_mac tap2") {
		t.Errorf("adding to a vanished table: %v, want an error per op", err)
	}
	if err := r3.Sync(snapshot(tap1, tap2, tap3)); err != nil {
		t.Fatalf("the resync after the failure: %v", err)
	}
	want3, _ := desiredLines(t, guardConfig(), tap1, tap2, tap3)
	if diff := cmp.Diff(want3, observedLines(t, k2, nil)); diff != "" {
		t.Errorf("observed after the rebuild (-want +got):\n%s", diff)
	}

	// Off: the table goes.
	if err := routing.NewReconciler(routing.DefaultConfig(), k2, routing.Options{}).Sync(snapshot()); err != nil {
		t.Fatal(err)
	}
	if out := n.nft(t, "list", "tables"); strings.Contains(out, "bridge nfdhcpd") {
		t.Errorf("guard off left the table:\n%s", out)
	}
}

// TestGuardTableMatchesNftScript checks that the table the daemon builds
// through netlink and the script `nfdhcpd rules -format nft-bridge` prints
// are the same rules: nft lists both the same way.
func TestGuardTableMatchesNftScript(t *testing.T) {
	lib, script := newGuardNetns(t, "lib"), newGuardNetns(t, "script")
	k := newNetlinkKernel(t, lib)
	if err := routing.NewReconciler(guardConfig(), k, routing.Options{}).Sync(snapshot()); err != nil {
		t.Fatal(err)
	}
	script.exec(t, "sh", "-c", "nft -f - <<'EOF'\n"+routing.GuardScript()+"EOF\n")
	normalize := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			l = strings.TrimSpace(l)
			// The script declares the target set by typeof (nft cannot
			// type a raw payload), the library by type.
			l = regexp.MustCompile(`^(typeof|type) (iifname|ifname) .*$`).ReplaceAllString(l, "KEY;")
			if l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	a := normalize(lib.nft(t, "list", "table", "bridge", "nfdhcpd"))
	b := normalize(script.nft(t, "list", "table", "bridge", "nfdhcpd"))
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("library table vs nft -f script (-script +library):\n%s", diff)
	}
	if !slices.ContainsFunc(a, func(l string) bool { return strings.Contains(l, "jump guard") }) {
		t.Errorf("no jump to the guard chain:\n%s", strings.Join(a, "\n"))
	}
	// The script's table is adopted as the daemon's own.
	obs, err := newNetlinkKernel(t, script).Observe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Guard == nil || obs.Guard.Version != routing.GuardVersion {
		t.Errorf("the script's table is not adopted: %v", obs.Guard)
	}
}
