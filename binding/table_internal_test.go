package binding

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// staticLinks is a LinkSource with fixed links and no changes.
type staticLinks []Link

func (s staticLinks) Watch(ctx context.Context) (<-chan LinkEvent, error) {
	ch := make(chan LinkEvent, 1)
	ch <- LinkEvent{Sync: true, Links: s}
	return ch, nil
}

// startDeafTable runs a Table whose file events never come due, so that a
// file only appears through a full rescan; it returns the watcher so the
// test can inject errors.
func startDeafTable(t *testing.T, dir string) (*Table, *fsnotify.Watcher) {
	t.Helper()
	tbl := NewTable(dir, slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithLinkSource(staticLinks{{Name: "tap0", Index: 10, MAC: []byte{2, 0, 0, 0, 0, 1}}}))
	tbl.quiet, tbl.maxDelay = time.Hour, time.Hour
	watchers := make(chan *fsnotify.Watcher, 1)
	tbl.onWatcher = func(w *fsnotify.Watcher) { watchers <- w }
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
	return tbl, <-watchers
}

func waitActive(t *testing.T, tbl *Table, index int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, ok := tbl.Snapshot().ByIndex(index); ok {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("index %d not active after 1 s", index)
}

func TestOverflowRescans(t *testing.T) {
	dir := t.TempDir()
	tbl, w := startDeafTable(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "tap0"), []byte("MAC=52:54:00:00:00:01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if tbl.Snapshot().Len() != 0 {
		t.Fatal("the event was not held back; the test would prove nothing")
	}
	w.Errors <- fsnotify.ErrEventOverflow
	waitActive(t, tbl, 10)
}

func TestRescanRequest(t *testing.T) {
	dir := t.TempDir()
	tbl, _ := startDeafTable(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "tap0"), []byte("MAC=52:54:00:00:00:01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if tbl.Snapshot().Len() != 0 {
		t.Fatal("the event was not held back; the test would prove nothing")
	}
	tbl.Rescan()
	tbl.Rescan() // merged with the first
	waitActive(t, tbl, 10)
}

func TestDebounceWaitsForQuiet(t *testing.T) {
	tbl := &Table{quiet: 50 * time.Millisecond, maxDelay: 500 * time.Millisecond}
	l := &loop{t: tbl}
	start := time.Unix(1000, 0)
	tests := []struct {
		name string
		d    touched
		want time.Duration // after start
	}{
		{"single event", touched{first: start, last: start}, 50 * time.Millisecond},
		{"later event pushes back", touched{first: start, last: start.Add(30 * time.Millisecond)}, 80 * time.Millisecond},
		{"endless writes are capped", touched{first: start, last: start.Add(490 * time.Millisecond)}, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := l.due(tt.d).Sub(start); got != tt.want {
			t.Errorf("%s: due after %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestEqualBindingsCoversEveryField fails when a field is added to Binding
// without teaching equalBindings about it: a change in that field would
// otherwise never reach the snapshot.
func TestEqualBindingsCoversEveryField(t *testing.T) {
	base := Binding{Name: "tap0", Indev: "tap0", MAC: []byte{2, 0, 0, 0, 0, 1}}
	typ := reflect.TypeOf(base)
	for i := 0; i < typ.NumField(); i++ {
		changed := base
		changed.MAC = append([]byte(nil), base.MAC...)
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int:
			f.SetInt(f.Int() + 1)
		case reflect.Slice:
			f.Index(0).SetUint(f.Index(0).Uint() + 2)
		default:
			switch f.Interface().(type) {
			case profile.Profile:
				changed.Profile.Set(profile.KeyNTP, "192.0.2.123")
			case interface{ IsValid() bool }:
				if typ.Field(i).Type.Name() == "Prefix" {
					f.Set(reflect.ValueOf(mustPrefix("2001:db8::/64")))
				} else {
					f.Set(reflect.ValueOf(mustAddr("2001:db8::1")))
				}
			default:
				t.Fatalf("field %s of kind %v: teach this test and equalBindings about it", typ.Field(i).Name, f.Kind())
			}
		}
		if equalBindings(&base, &changed) {
			t.Errorf("equalBindings ignores a change of %s", typ.Field(i).Name)
		}
	}
}

func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
