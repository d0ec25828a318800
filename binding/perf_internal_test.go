package binding

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// tableSize is the number of bindings of the scale goal of issue 6.
const tableSize = 10_000

// perfBinding returns a routed dual-stack binding for TAP number i.
func perfBinding(i int) *Binding {
	return &Binding{
		Name:    perfTap(i),
		Indev:   perfTap(i),
		MAC:     net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)},
		IP:      netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
		Subnet:  netip.MustParsePrefix("10.0.0.0/8"),
		Gateway: netip.MustParseAddr("10.0.0.1"),
	}
}

func perfTap(i int) string { return fmt.Sprintf("tap%d", i) }

// perfLinks returns the TAPs of perfBinding 0..n-1, with indexes from 100.
func perfLinks(n int) []Link {
	links := make([]Link, n)
	for i := range links {
		links[i] = Link{Name: perfTap(i), Index: 100 + i, MAC: net.HardwareAddr{0xfe, 0x54, 0, 0, byte(i >> 8), byte(i)}}
	}
	return links
}

// loadedLoop returns a loop that has published n active bindings, without
// a directory or a Run: what Run holds after its initial load.
func loadedLoop(n int) *loop {
	tbl := NewTable(os.DevNull, slog.New(slog.DiscardHandler), WithLinkSource(staticLinks(nil)))
	l := newLoop(tbl, nil)
	l.applyLink(LinkEvent{Sync: true, Links: perfLinks(n)})
	for i := range n {
		l.set(perfTap(i), perfBinding(i))
	}
	l.scanned = true
	l.publish()
	return l
}

// BenchmarkTableApplyOneChange measures one binding file changing in a table
// of 10,000 active bindings: recording it and publishing the new snapshot
// and status list.
func BenchmarkTableApplyOneChange(b *testing.B) {
	l := loadedLoop(tableSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := i % tableSize
		changed := perfBinding(n)
		changed.Hostname = fmt.Sprintf("vm%d-%d", n, i)
		l.set(changed.Name, changed)
		l.publish()
		i++
	}
	if a, ok := l.t.Snapshot().ByIndex(100); !ok || a.Hostname == "" {
		b.Fatalf("the changes did not reach the snapshot: %+v", a)
	}
}

// BenchmarkInitialLoad10k measures a Table from Run to Ready over a
// directory of 10,000 binding files with 10,000 links present, as the
// daemon starts on a loaded host.
func BenchmarkInitialLoad10k(b *testing.B) {
	dir := b.TempDir()
	for i := range tableSize {
		content, err := Format(perfBinding(i).Values())
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, perfTap(i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	links := staticLinks(perfLinks(tableSize))
	b.ReportAllocs()
	for b.Loop() {
		tbl := NewTable(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), WithLinkSource(links))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tbl.Run(ctx) }()
		<-tbl.Ready()
		got := tbl.Snapshot().Len()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if got != tableSize {
			b.Fatalf("%d active bindings at Ready, want %d", got, tableSize)
		}
	}
}
