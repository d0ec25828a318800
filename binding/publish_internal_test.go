package binding

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// activeView is what a test compares of an active binding.
type activeView struct {
	Name     string
	TapIndex int
	IndevMAC string
	Hostname string
}

// TestIncrementalPublishMatchesRebuild drives a loop through random file and
// link changes, publishing after each small batch, and checks every
// published snapshot and status list against the state worked out from
// scratch: patching must never drift from rebuilding.
func TestIncrementalPublishMatchesRebuild(t *testing.T) {
	const names = 40
	rng := rand.New(rand.NewPCG(1, 2))
	l := loadedLoop(names)
	links := make(map[int]Link)
	for _, k := range perfLinks(names) {
		links[k.Index] = k
	}
	files := make(map[string]*Binding)
	for i := range names {
		files[perfTap(i)] = perfBinding(i)
	}
	bridge := Link{Name: "br0", Index: 5000, MAC: net.HardwareAddr{2, 0, 0, 0, 0xb0, 1}}

	for step := range 400 {
		for range 1 + rng.IntN(3) {
			i := rng.IntN(names)
			name := perfTap(i)
			switch op := rng.IntN(8); op {
			case 0: // file changed
				b := perfBinding(i)
				b.Hostname = "h" + string(rune('a'+rng.IntN(26)))
				files[name] = b
				l.set(name, b)
			case 1: // file removed
				delete(files, name)
				l.remove(name)
			case 2: // file moved onto the bridge
				b := perfBinding(i)
				b.Indev = bridge.Name
				files[name] = b
				l.set(name, b)
			case 3: // TAP deleted
				for idx, k := range links {
					if k.Name == name {
						delete(links, idx)
						l.applyLink(LinkEvent{Link: k, Deleted: true})
					}
				}
			case 4: // TAP (re)created under a new index
				k := Link{Name: name, Index: 10000 + step*10 + i%10, MAC: net.HardwareAddr{0xfe, 0, 0, 0, 0, byte(i)}}
				links[k.Index] = k
				l.applyLink(LinkEvent{Link: k})
			case 5: // bridge appears or changes its MAC
				bridge.MAC = net.HardwareAddr{2, 0, 0, 0, 0xb0, byte(rng.IntN(256))}
				links[bridge.Index] = bridge
				l.applyLink(LinkEvent{Link: bridge})
			case 6: // bridge goes
				delete(links, bridge.Index)
				l.applyLink(LinkEvent{Link: bridge, Deleted: true})
			case 7: // a file turns invalid: its last good binding stays
				if files[name] != nil {
					l.fail(name, ErrInvalid)
				}
			}
		}
		l.publish()

		want := expectedActive(files, links)
		var got []activeView
		for _, a := range l.t.Snapshot().All() {
			got = append(got, activeView{a.Name, a.TapIndex, a.IndevMAC.String(), a.Hostname})
			if b, ok := l.t.Snapshot().ByIndex(a.TapIndex); !ok || b != a {
				t.Fatalf("step %d: ByIndex(%d) = %v, want %s", step, a.TapIndex, b, a.Name)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: active bindings (-want +got):\n%s", step, diff)
		}
		for idx := range links {
			if a, ok := l.t.Snapshot().ByIndex(idx); ok && !slices.ContainsFunc(want, func(v activeView) bool { return v.TapIndex == idx }) {
				t.Fatalf("step %d: ByIndex(%d) = %s, want none", step, idx, a.Name)
			}
		}
		var wantStatus, gotStatus []string
		for name := range files {
			wantStatus = append(wantStatus, name)
		}
		slices.Sort(wantStatus)
		for _, st := range l.t.Status() {
			gotStatus = append(gotStatus, st.Name)
		}
		if diff := cmp.Diff(wantStatus, gotStatus); diff != "" {
			t.Fatalf("step %d: status names (-want +got):\n%s", step, diff)
		}
	}
}

// expectedActive works out the active bindings from the files and links
// alone, sorted by name.
func expectedActive(files map[string]*Binding, links map[int]Link) []activeView {
	newest := func(name string) (Link, bool) {
		var found Link
		for _, k := range links {
			if k.Name == name && k.Index > found.Index {
				found = k
			}
		}
		return found, found.Index != 0
	}
	var out []activeView
	for name, b := range files {
		tap, ok := newest(name)
		indev, indevOK := newest(b.Indev)
		if ok && indevOK {
			out = append(out, activeView{name, tap.Index, indev.MAC.String(), b.Hostname})
		}
	}
	slices.SortFunc(out, func(a, b activeView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TestRenamedFileIsReadAtOnce checks that a file renamed into place skips
// the quiet period that a file written in place waits for: with a quiet
// period of an hour, only the renamed file can show up.
func TestRenamedFileIsReadAtOnce(t *testing.T) {
	dir := t.TempDir()
	tbl := NewTable(dir, slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithLinkSource(staticLinks{{Name: "tap0", Index: 10, MAC: []byte{2, 0, 0, 0, 0, 1}}, {Name: "tap1", Index: 11, MAC: []byte{2, 0, 0, 0, 0, 2}}}))
	tbl.quiet, tbl.maxDelay = time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	<-tbl.Ready()

	if err := os.WriteFile(filepath.Join(dir, "tap1"), []byte("MAC=52:54:00:00:00:02\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "tap0", map[string]string{"MAC": "52:54:00:00:00:01"}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, tbl, 10)
	if _, ok := tbl.Snapshot().ByIndex(11); ok {
		t.Error("tap1, written in place, was read before its quiet period")
	}
}
