package activity_test

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/binding"
)

// fakeTable hands out statuses set by the test and wakes its subscriber.
type fakeTable struct {
	mu       sync.Mutex
	statuses []binding.Status
	ch       chan struct{}
}

func (f *fakeTable) SubscribeStatus() (<-chan struct{}, func()) { return f.ch, func() {} }

func (f *fakeTable) Status() []binding.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses
}

func (f *fakeTable) set(s ...binding.Status) {
	f.mu.Lock()
	f.statuses = s
	f.mu.Unlock()
	f.ch <- struct{}{}
}

// TestWatchBindings checks the binding events of a life: none for what is
// there at start, then bind+active, change, pending, active, unbind; and
// that a change forgets the VM's record.
func TestWatchBindings(t *testing.T) {
	tbl := &fakeTable{ch: make(chan struct{})}
	book := activity.NewBook(slog.New(slog.DiscardHandler))
	evs := make(chan string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan int, 100)
	go activity.WatchBindings(ctx, tbl, book, func(ev activity.Event) { evs <- ev.Kind.String() + " " + ev.TAP + " " + ev.State },
		func(s []binding.Status) { passes <- len(s) })

	old := &binding.Binding{Name: "tap0", IP: netip.MustParseAddr("192.0.2.5")}
	b1 := &binding.Binding{Name: "tap1", IP: netip.MustParseAddr("192.0.2.10")}
	b1same := &binding.Binding{Name: "tap1", IP: netip.MustParseAddr("192.0.2.10")}
	b1new := &binding.Binding{Name: "tap1", IP: netip.MustParseAddr("192.0.2.11")}
	act := func(b *binding.Binding) binding.Status {
		return binding.Status{Name: b.Name, State: binding.StateActive, Binding: b}
	}
	pend := func(b *binding.Binding) binding.Status {
		return binding.Status{Name: b.Name, State: binding.StatePending, Binding: b}
	}
	a := testActive()
	step := func(s ...binding.Status) {
		tbl.set(s...)
		<-passes
	}
	step(act(old))
	step(act(old), act(b1))
	book.RS(a)
	step(act(old), act(b1same)) // rewritten, same content: nothing
	if _, ok := book.View("tap1"); !ok {
		t.Error("record forgotten on a rewrite with the same content")
	}
	step(act(old), act(b1new))
	if _, ok := book.View("tap1"); ok {
		t.Error("record kept after the binding changed")
	}
	step(act(old), pend(b1new))
	step(act(old), act(b1new))
	step(act(old))
	close(evs)
	var got []string
	for e := range evs {
		got = append(got, e)
	}
	want := []string{
		"bind tap1 active", "active tap1 active", "change tap1 active",
		"pending tap1 pending", "active tap1 active", "unbind tap1 active",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
