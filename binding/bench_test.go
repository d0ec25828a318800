package binding_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixturesDir, "good", "routed"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := binding.Parse("routed", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotByIndex measures the lookup every packet makes, on a
// table of 4096 bindings.
func BenchmarkSnapshotByIndex(b *testing.B) {
	snap := bigSnapshot(4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := snap.ByIndex(100 + i%4096); !ok {
			b.Fatal("missing binding")
		}
		i++
	}
}

func bigSnapshot(n int) *binding.Snapshot {
	active := make([]*binding.Active, n)
	for i := range active {
		active[i] = &binding.Active{Binding: binding.Binding{Name: "tap" + string(rune('a'+i%26))}, TapIndex: 100 + i}
	}
	return binding.NewSnapshot(active)
}

func TestLookupDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File)
	tbl := startTable(t, dir, newFakeLinks(binding.Link{Name: "tap0", Index: 10, MAC: macTap0}), nil)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := tbl.Snapshot().ByIndex(10); !ok {
			t.Fatal("tap0 not active")
		}
		_ = tbl.Snapshot().All()
	})
	if allocs != 0 {
		t.Errorf("Snapshot().ByIndex allocates %v times per lookup, want 0", allocs)
	}
}
