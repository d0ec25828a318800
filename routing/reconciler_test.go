package routing_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

func snapshot(as ...*binding.Active) *binding.Snapshot { return binding.NewSnapshot(as) }

func desiredLines(t *testing.T, cfg routing.Config, as ...*binding.Active) ([]string, []string) {
	t.Helper()
	d, err := routing.Desired(cfg, as)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(d.Sysctls))
	for i, s := range d.Sysctls {
		names[i] = s.Name
	}
	return stateLines(d), names
}

func TestSyncFromEmptyKernel(t *testing.T) {
	cfg := vmcConfig()
	cfg.Subnet6 = netip.Prefix{}
	k := newFakeKernel()
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", false))); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"route add 192.0.2.0/24 dev eth1 table 254",
		"route add 192.0.2.0/24 dev eth1 table 500",
		"route add 192.0.2.10/32 dev tap1 table 500",
		"route add 0.0.0.0/0 via 192.0.2.1 dev eth1 table 500",
		"rule add iif eth1 lookup 500 pref 20100",
		"rule add iif tap1 lookup 500 pref 20200",
		"sysctl set net/ipv4/conf/eth1/forwarding 1",
		"sysctl set net/ipv4/conf/eth1/proxy_arp 1",
		"sysctl set net/ipv4/conf/tap1/forwarding 1",
		"sysctl set net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl set net/ipv4/neigh/eth1/proxy_delay 0",
		"sysctl set net/ipv4/neigh/tap1/proxy_delay 0",
		"nft set arp output oifname eth1 request sender 192.0.2.254; arp output oifname tap1 request sender 192.0.2.1; " +
			"forward iifname tap1 ip saddr != 192.0.2.10 drop; forward iifname tap1 ip6 drop",
	}
	if diff := cmp.Diff(want, k.takeLog()); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}

func TestSyncIsIdempotentAndRestartAdopts(t *testing.T) {
	cfg := vmcConfig()
	snap := snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true), vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", true))
	k := newFakeKernel()
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	k.takeLog()
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	if got := k.takeLog(); len(got) != 0 {
		t.Errorf("incremental re-sync made ops: %q", got)
	}
	r.Invalidate()
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	if got := k.takeLog(); len(got) != 0 {
		t.Errorf("full re-sync made ops: %q", got)
	}
	restarted := routing.NewReconciler(cfg, k, routing.Options{})
	if err := restarted.Sync(snap); err != nil {
		t.Fatal(err)
	}
	if got := k.takeLog(); len(got) != 0 {
		t.Errorf("a restarted reconciler made ops: %q", got)
	}
}

func TestRemovingABindingRemovesExactlyItsEntries(t *testing.T) {
	cfg := vmcConfig()
	cfg.Antispoof = false
	cfg.ARPIP = netip.Addr{}
	tap1 := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	tap2 := vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", true)
	k := newFakeKernel()
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(snapshot(tap1, tap2)); err != nil {
		t.Fatal(err)
	}
	k.takeLog()
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"rule del -6 iif tap2 lookup 500 pref 20200",
		"rule del iif tap2 lookup 500 pref 20200",
		"route del 192.0.2.11/32 dev tap2 table 500",
		"route del 2001:db8:1:0:5054:ff:fe00:2/128 dev tap2 table 500",
		"neigh del proxy 2001:db8:1:0:5054:ff:fe00:2 dev eth1",
		"nft set arp output oifname tap1 request sender 192.0.2.1",
	}
	if diff := cmp.Diff(want, k.takeLog()); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	wantState, names := desiredLines(t, cfg, tap1)
	if diff := cmp.Diff(wantState, k.lines(names)); diff != "" {
		t.Errorf("kernel state (-want +got):\n%s", diff)
	}
}

func TestFailureTriggersFullResync(t *testing.T) {
	cfg := vmcConfig()
	tap1 := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	k := newFakeKernel()
	r := routing.NewReconciler(cfg, k, routing.Options{})
	k.failNext("route add 192.0.2.10/32")
	err := r.Sync(snapshot(tap1))
	if !errors.Is(err, errInjected) {
		t.Fatalf("Sync = %v, want the injected failure", err)
	}
	k.takeLog()
	observes := k.observes
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	if k.observes != observes+1 {
		t.Errorf("the sync after a failure observed the kernel %d times, want 1 (full resync)", k.observes-observes)
	}
	if diff := cmp.Diff([]string{"route add 192.0.2.10/32 dev tap1 table 500"}, k.takeLog()); diff != "" {
		t.Errorf("retry ops (-want +got):\n%s", diff)
	}

	k.failObserve = errInjected
	r.Invalidate()
	if err := r.Sync(snapshot(tap1)); !errors.Is(err, errInjected) {
		t.Fatalf("Sync with a failing Observe = %v, want the injected failure", err)
	}
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatalf("Sync after a failed Observe: %v", err)
	}
}

// TestRandomTransitions replays random changes of the binding set, in
// random order and with random failures, and checks after each clean sync
// that the kernel holds exactly the desired state of the current bindings.
func TestRandomTransitions(t *testing.T) {
	pool := []*binding.Active{
		vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true),
		vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", false),
		vm("tap3", 13, "52:54:00:00:00:03", "", true),
		vm("tap4", 14, "52:54:00:00:00:04", "192.0.2.13", true),
		vm("tap5", 15, "52:54:00:00:00:05", "192.0.2.14", true),
	}
	moved := vm("tap4", 24, "52:54:00:00:00:04", "192.0.2.99", true) // tap4 recreated with a new address
	moved.Table = "other"
	pool = append(pool, moved)
	failPrefixes := []string{"rule add", "route add", "route del", "neigh add", "neigh del", "sysctl set", "nft set", "rule del"}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 42))
		cfg := vmcConfig()
		k := newFakeKernel()
		r := routing.NewReconciler(cfg, k, routing.Options{})
		for step := range 30 {
			var current []*binding.Active
			for _, i := range rng.Perm(len(pool)) {
				if rng.IntN(2) == 0 {
					current = append(current, pool[i])
				}
			}
			if rng.IntN(4) == 0 {
				k.failNext(failPrefixes[rng.IntN(len(failPrefixes))])
			}
			if rng.IntN(10) == 0 {
				// A restart: a new reconciler over the same kernel.
				r = routing.NewReconciler(cfg, k, routing.Options{})
			}
			if err := r.Sync(snapshot(current...)); err != nil {
				// The failed op is retried by a full resync.
				if !errors.Is(err, errInjected) {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				if err := r.Sync(snapshot(current...)); err != nil {
					t.Fatalf("seed %d step %d: resync: %v", seed, step, err)
				}
			}
			want, names := desiredLines(t, cfg, binding.NewSnapshot(current).All()...)
			if diff := cmp.Diff(want, k.lines(names)); diff != "" {
				t.Fatalf("seed %d step %d: kernel state (-want +got):\n%s", seed, step, diff)
			}
		}
	}
}

func TestAnnouncesNewHostRoutesOnly(t *testing.T) {
	cfg := vmcConfig()
	k := newFakeKernel()
	uplinkMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 0xe1}
	k.links["eth1"] = routing.Link{Index: 7, MAC: uplinkMAC, LinkLocal: netip.MustParseAddr("fe80::e1")}
	sender := &fakeSender{}
	r := routing.NewReconciler(cfg, k, routing.Options{Sender: sender})
	tap1 := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	tap2 := vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", false)
	if err := r.Sync(snapshot(tap1)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"7 ARP 192.0.2.10 is-at 02:00:00:00:00:e1",
		"7 NA 2001:db8:1:0:5054:ff:fe00:1 is-at 02:00:00:00:00:e1 from fe80::e1",
	}
	if diff := cmp.Diff(want, describeFrames(t, sender.take())); diff != "" {
		t.Errorf("announcements (-want +got):\n%s", diff)
	}
	if err := r.Sync(snapshot(tap1, tap2)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"7 ARP 192.0.2.11 is-at 02:00:00:00:00:e1"}, describeFrames(t, sender.take())); diff != "" {
		t.Errorf("announcements after adding tap2 (-want +got):\n%s", diff)
	}
	restarted := routing.NewReconciler(cfg, k, routing.Options{Sender: sender})
	if err := restarted.Sync(snapshot(tap1, tap2)); err != nil {
		t.Fatal(err)
	}
	if got := describeFrames(t, sender.take()); len(got) != 0 {
		t.Errorf("a restart announced %q, want nothing", got)
	}
}

// describeFrames decodes announcement frames into one line each.
func describeFrames(t *testing.T, frames []sentFrame) []string {
	t.Helper()
	var lines []string
	for _, f := range frames {
		pkt := gopacket.NewPacket(f.frame, layers.LayerTypeEthernet, gopacket.Default)
		if arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			lines = append(lines, strings.Join([]string{
				itoa(f.ifindex), "ARP", net.IP(arp.SourceProtAddress).String(), "is-at", net.HardwareAddr(arp.SourceHwAddress).String(),
			}, " "))
			continue
		}
		if na, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok {
			ip6 := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			var lladdr net.HardwareAddr
			for _, o := range na.Options {
				if o.Type == layers.ICMPv6OptTargetAddress {
					lladdr = o.Data
				}
			}
			lines = append(lines, strings.Join([]string{
				itoa(f.ifindex), "NA", na.TargetAddress.String(), "is-at", lladdr.String(), "from", ip6.SrcIP.String(),
			}, " "))
			continue
		}
		t.Errorf("frame on %d is neither ARP nor NA: %v", f.ifindex, pkt)
	}
	slices.Sort(lines)
	return lines
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRunSyncsOnChangesAndRetries(t *testing.T) {
	cfg := vmcConfig()
	k := newFakeKernel()
	tap1 := vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true)
	current := make(chan *binding.Snapshot, 1)
	current <- snapshot()
	latest := snapshot()
	snap := func() *binding.Snapshot {
		select {
		case s := <-current:
			latest = s
		default:
		}
		return latest
	}
	r := routing.NewReconciler(cfg, k, routing.Options{RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	changes := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, changes, snap) }()

	waitFor(t, "the initial sync", func() bool { return slices.Contains(r.Lines(), "rule iif eth1 lookup 500 pref 20100") })
	k.failNext("route add 192.0.2.10/32")
	current <- snapshot(tap1)
	changes <- struct{}{}
	want, names := desiredLines(t, cfg, tap1)
	waitFor(t, "convergence after a failed sync", func() bool { return cmp.Equal(want, k.lines(names)) })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecreatedTapIsRoutedAgain(t *testing.T) {
	cfg := vmcConfig()
	k := newFakeKernel()
	r := routing.NewReconciler(cfg, k, routing.Options{})
	if err := r.Sync(snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", true))); err != nil {
		t.Fatal(err)
	}
	k.takeLog()
	// The hypervisor deletes the TAP and creates it again: same name,
	// new index; the kernel dropped what hung on the old interface.
	k.dropLink("tap1")
	recreated := vm("tap1", 21, "52:54:00:00:00:01", "192.0.2.10", true)
	if err := r.Sync(snapshot(recreated)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"route add 192.0.2.10/32 dev tap1 table 500",
		"route add 2001:db8:1:0:5054:ff:fe00:1/128 dev tap1 table 500",
		"sysctl set net/ipv4/conf/tap1/forwarding 1",
		"sysctl set net/ipv4/conf/tap1/proxy_arp 1",
		"sysctl set net/ipv4/neigh/tap1/proxy_delay 0",
		"sysctl set net/ipv6/conf/tap1/proxy_ndp 0",
	}
	if diff := cmp.Diff(want, k.takeLog()); diff != "" {
		t.Errorf("ops after the TAP was recreated (-want +got):\n%s", diff)
	}
}
