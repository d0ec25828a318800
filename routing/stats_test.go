package routing_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

func TestStatsCountSyncsAndOps(t *testing.T) {
	cfg := vmcConfig()
	snap := snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", false))
	k := newFakeKernel()
	stats := &routing.Stats{}
	r := routing.NewReconciler(cfg, k, routing.Options{Stats: stats})

	// A first, full sync from an empty kernel applies every op.
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	applied := uint64(len(k.takeLog()))
	if applied == 0 {
		t.Fatal("the first sync applied nothing")
	}
	want := routing.StatsSnapshot{Syncs: 1, FullSyncs: 1, OpsApplied: applied}
	if diff := cmp.Diff(want, stats.Snapshot()); diff != "" {
		t.Errorf("after the first sync (-want +got):\n%s", diff)
	}

	// An incremental sync with nothing to do is counted, and is not full.
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	want.Syncs++
	if diff := cmp.Diff(want, stats.Snapshot()); diff != "" {
		t.Errorf("after an idle sync (-want +got):\n%s", diff)
	}

	// The kernel cannot be read: a failed full sync.
	r.Invalidate()
	k.failObserve = errors.New("netlink gone")
	if err := r.Sync(snap); err == nil {
		t.Fatal("sync succeeded with an unreadable kernel")
	}
	want.Syncs++
	want.FullSyncs++
	want.SyncErrors++
	if diff := cmp.Diff(want, stats.Snapshot()); diff != "" {
		t.Errorf("after a failed observe (-want +got):\n%s", diff)
	}

	// One op of a new binding fails, the other ones apply.
	snap2 := snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", false), vm("tap2", 12, "52:54:00:00:00:02", "192.0.2.11", false))
	k.failNext("route add 192.0.2.11/32")
	if err := r.Sync(snap2); err == nil {
		t.Fatal("sync succeeded with a failing op")
	}
	ops := uint64(len(k.takeLog()))
	got := stats.Snapshot()
	want.Syncs++
	want.FullSyncs++
	want.SyncErrors++
	want.OpsFailed = 1
	want.OpsApplied = got.OpsApplied // checked below
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after a failed op (-want +got):\n%s", diff)
	}
	if got.OpsApplied <= applied {
		t.Errorf("ops applied %d, want more than the %d of the first sync (this one logged %d)", got.OpsApplied, applied, ops)
	}

	var none *routing.Stats
	if got := none.LastSync(); !got.At.IsZero() || got.Err != "" {
		t.Errorf("nil stats: LastSync() = %+v, want the zero result", got)
	}
	if diff := cmp.Diff(routing.StatsSnapshot{}, none.Snapshot()); diff != "" {
		t.Errorf("nil stats (-want +got):\n%s", diff)
	}
}

// TestStatsLastSync checks that the latest pass's time and error are kept,
// and that a pass that succeeds clears the error of the one before.
func TestStatsLastSync(t *testing.T) {
	cfg := vmcConfig()
	snap := snapshot(vm("tap1", 11, "52:54:00:00:00:01", "192.0.2.10", false))
	k := newFakeKernel()
	stats := &routing.Stats{}
	r := routing.NewReconciler(cfg, k, routing.Options{Stats: stats})
	if got := stats.LastSync(); !got.At.IsZero() {
		t.Fatalf("LastSync() before any pass = %+v, want a zero time", got)
	}

	before := time.Now()
	r.Invalidate()
	k.failObserve = errors.New("netlink gone")
	if err := r.Sync(snap); err == nil {
		t.Fatal("sync succeeded with an unreadable kernel")
	}
	failed := stats.LastSync()
	if failed.At.Before(before) || !strings.Contains(failed.Err, "netlink gone") {
		t.Errorf("after a failed pass LastSync() = %+v, want a time after %v and the kernel's error", failed, before)
	}

	k.failObserve = nil
	if err := r.Sync(snap); err != nil {
		t.Fatal(err)
	}
	ok := stats.LastSync()
	if ok.Err != "" || ok.At.Before(failed.At) {
		t.Errorf("after a good pass LastSync() = %+v, want no error and a time not before %v", ok, failed.At)
	}
}
