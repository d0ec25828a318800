package binding_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// fakeLinks is a LinkSource driven by the test: it keeps a list of links,
// sends it as the Sync event of each subscription, and sends every change
// to the current subscription.
type fakeLinks struct {
	mu      sync.Mutex
	links   map[int]binding.Link
	current chan binding.LinkEvent
	watches int
}

func newFakeLinks(links ...binding.Link) *fakeLinks {
	f := &fakeLinks{links: make(map[int]binding.Link)}
	for _, k := range links {
		f.links[k.Index] = k
	}
	return f
}

func (f *fakeLinks) Watch(ctx context.Context) (<-chan binding.LinkEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watches++
	ch := make(chan binding.LinkEvent, 64)
	var all []binding.Link
	for _, k := range f.links {
		all = append(all, k)
	}
	ch <- binding.LinkEvent{Sync: true, Links: all}
	f.current = ch
	return ch, nil
}

func (f *fakeLinks) add(k binding.Link) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[k.Index] = k
	if f.current != nil {
		f.current <- binding.LinkEvent{Link: k}
	}
}

func (f *fakeLinks) del(index int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.links[index]
	delete(f.links, index)
	if f.current != nil {
		f.current <- binding.LinkEvent{Link: k, Deleted: true}
	}
}

// breakSubscription ends the current subscription, as an ENOBUFS would;
// changes made before the next Watch reach the Table only by its Sync.
func (f *fakeLinks) breakSubscription() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.current)
	f.current = nil
}

func (f *fakeLinks) watchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches
}

var (
	macBr0  = net.HardwareAddr{0x02, 0, 0, 0, 0xb0, 0x01}
	macTap0 = net.HardwareAddr{0xfe, 0x54, 0, 0, 0, 0x10}
	macTap1 = net.HardwareAddr{0xfe, 0x54, 0, 0, 0, 0x11}
)

// startTable runs a Table on dir until the test ends, and waits for Ready.
func startTable(t *testing.T, dir string, links binding.LinkSource, log *slog.Logger) *binding.Table {
	t.Helper()
	if log == nil {
		log = testLogger(t)
	}
	tbl := binding.NewTable(dir, log, binding.WithLinkSource(links))
	startRun(t, tbl)
	return tbl
}

// testLogger logs into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startRun runs tbl until the test ends, checks that Run then returns nil,
// and waits for Ready.
func startRun(t *testing.T, tbl *binding.Table) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	select {
	case <-tbl.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("Table not ready after 5 s")
	}
}

// eventually polls cond until it holds, for at most a second: the longest
// any change may take to show.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("after 1 s: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func writeBinding(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func activeIP(tbl *binding.Table, index int) string {
	a, ok := tbl.Snapshot().ByIndex(index)
	if !ok {
		return ""
	}
	return a.IP.String()
}

func statusOf(tbl *binding.Table, name string) (binding.Status, bool) {
	for _, s := range tbl.Status() {
		if s.Name == name {
			return s, true
		}
	}
	return binding.Status{}, false
}

const tap0File = "MAC=52:54:00:00:00:01\nIP=192.0.2.1\n"

func TestTableInitialScan(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File)
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.2\nINDEV=br0\n")
	writeBinding(t, dir, "tap2", "MAC=52:54:00:00:00:03\n")      // no such link
	writeBinding(t, dir, "tap3", "MAC=zz\n")                     // invalid
	writeBinding(t, dir, ".tap4.XYZ", "MAC=52:54:00:00:00:05\n") // ignored
	writeBinding(t, dir, "tap5~", "MAC=52:54:00:00:00:05\n")     // ignored
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	links := newFakeLinks(
		binding.Link{Name: "tap0", Index: 10, MAC: macTap0},
		binding.Link{Name: "tap1", Index: 11, MAC: macTap1},
		binding.Link{Name: "br0", Index: 3, MAC: macBr0},
	)
	tbl := startTable(t, dir, links, nil)

	snap := tbl.Snapshot()
	var got []string
	for _, a := range snap.All() {
		got = append(got, fmt.Sprintf("%s idx=%d ip=%s indev=%s indevmac=%s", a.Name, a.TapIndex, a.IP, a.Indev, a.IndevMAC))
	}
	want := []string{
		"tap0 idx=10 ip=192.0.2.1 indev=tap0 indevmac=fe:54:00:00:00:10",
		"tap1 idx=11 ip=192.0.2.2 indev=br0 indevmac=02:00:00:00:b0:01",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot mismatch (-want +got):\n%s", diff)
	}

	var states []string
	for _, s := range tbl.Status() {
		states = append(states, fmt.Sprintf("%s %s %d %q %v %s", s.Name, s.State, s.TapIndex, s.Reason, s.Binding != nil, filepath.Base(s.File)))
	}
	wantStates := []string{
		`tap0 active 10 "" true tap0`,
		`tap1 active 11 "" true tap1`,
		`tap2 pending 0 "TAP tap2 does not exist" true tap2`,
		`tap3 invalid 0 "binding: tap3:1: MAC \"zz\": invalid (want a 48-bit MAC such as 52:54:00:12:34:56)" false tap3`,
	}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("status mismatch (-want +got):\n%s", diff)
	}
}

func TestTableFileChanges(t *testing.T) {
	dir := t.TempDir()
	links := newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0})
	tbl := startTable(t, dir, links, nil)
	if n := tbl.Snapshot().Len(); n != 0 {
		t.Fatalf("empty directory gives %d bindings", n)
	}

	writeBinding(t, dir, "tap0", tap0File)
	d := eventually(t, "created file active", func() bool { return activeIP(tbl, 10) == "192.0.2.1" })
	t.Logf("create → active in %v", d)

	// In place, as "cat > file" does: truncate, then write.
	writeBinding(t, dir, "tap0", "MAC=52:54:00:00:00:01\nIP=192.0.2.7\n")
	d = eventually(t, "in-place rewrite applied", func() bool { return activeIP(tbl, 10) == "192.0.2.7" })
	t.Logf("in-place write → active in %v", d)

	// Through a hidden temporary file renamed over the binding.
	writeBinding(t, dir, ".tap0.new123", "MAC=52:54:00:00:00:01\nIP=192.0.2.8\n")
	if err := os.Rename(filepath.Join(dir, ".tap0.new123"), filepath.Join(dir, "tap0")); err != nil {
		t.Fatal(err)
	}
	d = eventually(t, "renamed-in file applied", func() bool { return activeIP(tbl, 10) == "192.0.2.8" })
	t.Logf("rename-in → active in %v", d)

	// With the hook helper.
	if err := binding.WriteFile(dir, "tap0", map[string]string{"MAC": "52:54:00:00:00:01", "IP": "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "WriteFile applied", func() bool { return activeIP(tbl, 10) == "192.0.2.9" })

	if err := binding.RemoveFile(dir, "tap0"); err != nil {
		t.Fatal(err)
	}
	d = eventually(t, "removed file gone", func() bool {
		_, inStatus := statusOf(tbl, "tap0")
		return tbl.Snapshot().Len() == 0 && !inStatus
	})
	t.Logf("remove → gone in %v", d)
}

func TestTableBrokenRewriteKeepsBinding(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File)
	var logs netnstest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tbl := startTable(t, dir, newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0}), log)
	before := tbl.Snapshot()
	if activeIP(tbl, 10) != "192.0.2.1" {
		t.Fatal("tap0 not active at start")
	}

	writeBinding(t, dir, "tap0", "MAC=52:54:00:00:00:01\nIP=192.0.2.300\n")
	eventually(t, "error recorded", func() bool {
		s, _ := statusOf(tbl, "tap0")
		return strings.Contains(s.Reason, "IP")
	})
	s, _ := statusOf(tbl, "tap0")
	wantReason := `file invalid, keeping the previous binding: binding: tap0:2: IP "192.0.2.300": invalid (want an IPv4 address such as 192.0.2.10)`
	if s.State != binding.StateActive || s.Reason != wantReason {
		t.Errorf("status = %v %q, want active %q", s.State, s.Reason, wantReason)
	}
	if activeIP(tbl, 10) != "192.0.2.1" || tbl.Snapshot() != before {
		t.Errorf("the broken file replaced the good binding")
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "BINDING_FILE="+filepath.Join(dir, "tap0")) {
		t.Errorf("no warning naming BINDING_FILE in the log:\n%s", got)
	}

	// A file that is fixed clears the error.
	writeBinding(t, dir, "tap0", "MAC=52:54:00:00:00:01\nIP=192.0.2.5\n")
	eventually(t, "fixed file applied", func() bool {
		s, _ := statusOf(tbl, "tap0")
		return activeIP(tbl, 10) == "192.0.2.5" && s.Reason == ""
	})
	for _, want := range []string{"binding: added", "binding: changed", "TAP=tap0", "MAC=52:54:00:00:00:01", "IP=192.0.2.5"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestTableInvalidFromTheStart(t *testing.T) {
	dir := t.TempDir()
	tbl := startTable(t, dir, newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0}), nil)
	writeBinding(t, dir, "tap0", "MAC=52:54:00:00:00:01\nMTU=1\n")
	eventually(t, "invalid state", func() bool {
		s, ok := statusOf(tbl, "tap0")
		return ok && s.State == binding.StateInvalid && s.Binding == nil && strings.Contains(s.Reason, `MTU "1"`)
	})
	if tbl.Snapshot().Len() != 0 {
		t.Error("invalid file made a binding")
	}
}

func TestTableFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File+"INDEV=br0\n")
	links := newFakeLinks()
	tbl := startTable(t, dir, links, nil)
	s, _ := statusOf(tbl, "tap0")
	if s.State != binding.StatePending || s.Reason != "TAP tap0 does not exist" {
		t.Fatalf("status = %v %q, want pending on the TAP", s.State, s.Reason)
	}

	links.add(binding.Link{Name: "tap0", Index: 10, MAC: macTap0})
	eventually(t, "pending on INDEV", func() bool {
		s, _ := statusOf(tbl, "tap0")
		return s.State == binding.StatePending && s.Reason == "INDEV br0 does not exist"
	})
	links.add(binding.Link{Name: "br0", Index: 3, MAC: macBr0})
	eventually(t, "active once both exist", func() bool { return activeIP(tbl, 10) == "192.0.2.1" })
	a, _ := tbl.Snapshot().ByIndex(10)
	if !bytes.Equal(a.IndevMAC, macBr0) {
		t.Errorf("IndevMAC = %v, want %v", a.IndevMAC, macBr0)
	}

	// A flag change repeats the link unchanged: the snapshot must not move.
	before := tbl.Snapshot()
	links.add(binding.Link{Name: "br0", Index: 3, MAC: macBr0})
	links.add(binding.Link{Name: "other", Index: 99})
	time.Sleep(50 * time.Millisecond)
	if tbl.Snapshot() != before {
		t.Error("a repeated or unrelated link event replaced the snapshot")
	}

	links.del(10)
	eventually(t, "pending after TAP deletion", func() bool {
		s, _ := statusOf(tbl, "tap0")
		return tbl.Snapshot().Len() == 0 && s.State == binding.StatePending
	})
	links.add(binding.Link{Name: "tap0", Index: 42, MAC: macTap0})
	eventually(t, "recreated TAP followed", func() bool { return activeIP(tbl, 42) == "192.0.2.1" })
	if _, ok := tbl.Snapshot().ByIndex(10); ok {
		t.Error("old index still answers")
	}

	// The bridge changes its address: replies must use the new one.
	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0xb0, 0x02}
	links.add(binding.Link{Name: "br0", Index: 3, MAC: newMAC})
	eventually(t, "new INDEV MAC", func() bool {
		a, ok := tbl.Snapshot().ByIndex(42)
		return ok && bytes.Equal(a.IndevMAC, newMAC)
	})
}

func TestTableResubscribes(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File)
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.2\n")
	links := newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0})
	tbl := startTable(t, dir, links, nil)
	if activeIP(tbl, 10) != "192.0.2.1" {
		t.Fatal("tap0 not active at start")
	}

	links.breakSubscription()
	// Changes while no subscription runs: only the resync can tell.
	links.del(10)
	links.add(binding.Link{Name: "tap1", Index: 11, MAC: macTap1})
	d := eventually(t, "resynchronised after the subscription broke", func() bool {
		_, stale := tbl.Snapshot().ByIndex(10)
		return !stale && activeIP(tbl, 11) == "192.0.2.2"
	})
	t.Logf("resubscribed and resynced in %v", d)
	if n := links.watchCount(); n != 2 {
		t.Errorf("Watch called %d times, want 2", n)
	}
}

func TestTableSubscribe(t *testing.T) {
	dir := t.TempDir()
	tbl := startTable(t, dir, newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0}), nil)
	ch, unsubscribe := tbl.Subscribe()
	select {
	case <-ch:
	default:
		t.Fatal("no initial notification")
	}
	writeBinding(t, dir, "tap0", tap0File)
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("no notification within 1 s of a new binding")
	}
	if activeIP(tbl, 10) != "192.0.2.1" {
		t.Error("notified before the snapshot changed")
	}
	unsubscribe()
	unsubscribe() // twice is harmless
	if err := os.Remove(filepath.Join(dir, "tap0")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "binding removed", func() bool { return tbl.Snapshot().Len() == 0 })
	select {
	case <-ch:
		t.Error("notified after unsubscribing")
	default:
	}
}

func TestTableDirectoryRemovedAndRecreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bindings")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBinding(t, dir, "tap0", tap0File)
	tbl := startTable(t, dir, newFakeLinks(
		binding.Link{Name: "tap0", Index: 10, MAC: macTap0},
		binding.Link{Name: "tap1", Index: 11, MAC: macTap1}), nil)
	if activeIP(tbl, 10) != "192.0.2.1" {
		t.Fatal("tap0 not active at start")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, "binding of the removed file gone", func() bool { return tbl.Snapshot().Len() == 0 })

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.2\n")
	d := eventually(t, "file in the recreated directory active", func() bool { return activeIP(tbl, 11) == "192.0.2.2" })
	t.Logf("recreated directory picked up in %v", d)

	// Events are flowing again, not only the rescan.
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.3\n")
	eventually(t, "change in the recreated directory", func() bool { return activeIP(tbl, 11) == "192.0.2.3" })
}

func TestTableDirectoryMissingAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	tbl := startTable(t, dir, newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0}), nil)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBinding(t, dir, "tap0", tap0File)
	eventually(t, "binding in the directory created after start", func() bool { return activeIP(tbl, 10) == "192.0.2.1" })
}

func TestTableDirectorySwappedByRename(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "bindings")
	next := filepath.Join(parent, "bindings.next")
	for _, d := range []string{dir, next} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeBinding(t, dir, "tap0", tap0File)
	writeBinding(t, next, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.2\n")
	tbl := startTable(t, dir, newFakeLinks(
		binding.Link{Name: "tap0", Index: 10, MAC: macTap0},
		binding.Link{Name: "tap1", Index: 11, MAC: macTap1}), nil)
	if activeIP(tbl, 10) != "192.0.2.1" {
		t.Fatal("tap0 not active at start")
	}
	// Move the old directory away and the new one into its place.
	if err := os.Rename(dir, filepath.Join(parent, "bindings.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new directory's bindings, and only them", func() bool {
		_, stale := tbl.Snapshot().ByIndex(10)
		return !stale && activeIP(tbl, 11) == "192.0.2.2"
	})
	// The watch is on the new directory, not on the moved-away one.
	writeBinding(t, filepath.Join(parent, "bindings.old"), "tap0", "MAC=52:54:00:00:00:01\nIP=192.0.2.99\n")
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.3\n")
	eventually(t, "change in the new directory", func() bool { return activeIP(tbl, 11) == "192.0.2.3" })
	if _, ok := tbl.Snapshot().ByIndex(10); ok {
		t.Error("a file of the moved-away directory was read")
	}
}

// TestTableManyFiles writes the bindings of a crowded host at once, as a
// hypervisor starting its VMs would, and expects all of them within a
// second of the last write.
func TestTableManyFiles(t *testing.T) {
	const n = 500
	dir := t.TempDir()
	var links []binding.Link
	for i := range n {
		links = append(links, binding.Link{Name: fmt.Sprintf("tap%d", i), Index: 1000 + i, MAC: macTap0})
	}
	tbl := startTable(t, dir, newFakeLinks(links...), slog.New(slog.DiscardHandler))
	start := time.Now()
	for i := range n {
		writeBinding(t, dir, fmt.Sprintf("tap%d", i),
			fmt.Sprintf("MAC=52:54:00:00:%02x:%02x\nIP=198.51.100.%d\n", i>>8, i&0xff, i%250+1))
	}
	written := time.Since(start)
	d := eventually(t, "every binding active", func() bool { return tbl.Snapshot().Len() == n })
	t.Logf("%d files written in %v, all active %v after the last write", n, written, d)
}
