package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// A fakeQueues opens fake sources and records, as text lines, what the
// queueSet did with them.
type fakeQueues struct {
	mu      sync.Mutex
	events  []string
	failOn  int // queue number whose open fails; -1 for none
	started map[int]chan struct{}
	errOn   map[int]error // error Serve returns, instead of waiting for ctx
}

type fakeSource struct {
	num int
	f   *fakeQueues
}

func (s *fakeSource) Run(ctx context.Context, handle func(*responder.Packet) responder.Verdict) error {
	return nil
}

func (s *fakeSource) Close() error {
	s.f.record("close %d", s.num)
	return nil
}

func (f *fakeQueues) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, args...))
}

func (f *fakeQueues) open(num uint16) (responder.Source, error) {
	if int(num) == f.failOn {
		return nil, errors.New("queue busy")
	}
	f.record("open %d", num)
	return &fakeSource{num: int(num), f: f}, nil
}

func (f *fakeQueues) serve(ctx context.Context, kind responder.Kind, src responder.Source) error {
	num := src.(*fakeSource).num
	f.record("serve %s %d", kind, num)
	if err := f.errOn[num]; err != nil {
		return err
	}
	<-ctx.Done()
	f.record("stopped %s %d", kind, num)
	return nil
}

func (f *fakeQueues) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := f.events
	f.events = nil
	return ev
}

// waitServing waits until n newly started loops has logged "serve", so that the
// order of events is deterministic.
func waitServing(t *testing.T, f *fakeQueues, n int) []string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		f.mu.Lock()
		count := 0
		for _, e := range f.events {
			if len(e) > 5 && e[:5] == "serve" {
				count++
			}
		}
		f.mu.Unlock()
		if count >= n {
			return f.take()
		}
		sleepABit()
	}
	t.Fatalf("only some of %d queues started: %v", n, f.take())
	return nil
}

func TestQueueSetApply(t *testing.T) {
	all := []config.QueueSpec{{Kind: responder.KindDHCPv4, Num: 42}, {Kind: responder.KindRS, Num: 43}, {Kind: responder.KindNS, Num: 44}, {Kind: responder.KindDHCPv6, Num: 45}}
	steps := []struct {
		name    string
		want    []config.QueueSpec
		failOn  int
		serving int // new loops expected to start
		events  []string
		wantErr bool
	}{
		{name: "start", want: all, serving: 4, failOn: -1, events: []string{
			"open 42", "open 43", "open 44", "open 45", "serve dhcpv4 42", "serve dhcpv6 45", "serve ns 44", "serve rs 43"}},
		{name: "unchanged", want: all, failOn: -1},
		{name: "renumber rs, drop dhcpv6", serving: 1, failOn: -1,
			want:   []config.QueueSpec{{Kind: responder.KindDHCPv4, Num: 42}, {Kind: responder.KindRS, Num: 53}, {Kind: responder.KindNS, Num: 44}},
			events: []string{"open 53", "serve rs 53", "stopped dhcpv6 45", "stopped rs 43"}},
		{name: "open fails: nothing changes", failOn: 60, wantErr: true,
			want:   []config.QueueSpec{{Kind: responder.KindDHCPv4, Num: 50}, {Kind: responder.KindRS, Num: 60}},
			events: []string{"close 50", "open 50"}},
		{name: "ns removed", failOn: -1,
			want:   []config.QueueSpec{{Kind: responder.KindDHCPv4, Num: 42}, {Kind: responder.KindRS, Num: 53}},
			events: []string{"stopped ns 44"}},
	}
	f := &fakeQueues{}
	s := newQueueSet(slog.New(slog.DiscardHandler), f.open, f.serve)
	ctx := context.Background()
	for _, step := range steps {
		f.failOn = step.failOn
		err := s.Apply(ctx, step.want)
		if (err != nil) != step.wantErr {
			t.Fatalf("%s: Apply error = %v, want error %v", step.name, err, step.wantErr)
		}
		got := waitServing(t, f, step.serving)
		slices.Sort(got)
		want := slices.Clone(step.events)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", step.name, diff)
		}
	}
	s.StopAll()
	got := f.take()
	slices.Sort(got)
	if diff := cmp.Diff([]string{"stopped dhcpv4 42", "stopped rs 53"}, got); diff != "" {
		t.Errorf("StopAll events (-want +got):\n%s", diff)
	}
}

func TestQueueSetFailed(t *testing.T) {
	f := &fakeQueues{failOn: -1, errOn: map[int]error{43: errors.New("socket gone")}}
	s := newQueueSet(slog.New(slog.DiscardHandler), f.open, f.serve)
	if err := s.Apply(context.Background(), []config.QueueSpec{{Kind: responder.KindDHCPv4, Num: 42}, {Kind: responder.KindRS, Num: 43}}); err != nil {
		t.Fatal(err)
	}
	err := <-s.Failed()
	if err == nil || err.Error() != "socket gone" {
		t.Errorf("Failed() = %v, want the loop's error", err)
	}
	s.StopAll()
}

func sleepABit() { time.Sleep(2 * time.Millisecond) }

// TestQueueSetReserve checks that reserved queues are opened once, served
// by the next Apply without being reopened, replaced when their number
// changes, and closed when never served.
func TestQueueSetReserve(t *testing.T) {
	f := &fakeQueues{failOn: -1}
	s := newQueueSet(slog.New(slog.DiscardHandler), f.open, f.serve)
	dhcp, rs := config.QueueSpec{Kind: responder.KindDHCPv4, Num: 42}, config.QueueSpec{Kind: responder.KindRS, Num: 43}
	check := func(step string, got, want []string) {
		t.Helper()
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", step, diff)
		}
	}
	if err := s.Reserve([]config.QueueSpec{dhcp, rs}); err != nil {
		t.Fatal(err)
	}
	check("reserve", f.take(), []string{"open 42", "open 43"})
	if err := s.Reserve([]config.QueueSpec{dhcp, rs}); err != nil {
		t.Fatal(err)
	}
	check("reserve again", f.take(), nil)

	rs.Num = 53
	if err := s.Apply(context.Background(), []config.QueueSpec{dhcp, rs}); err != nil {
		t.Fatal(err)
	}
	check("apply", waitServing(t, f, 2), []string{"open 53", "close 43", "serve dhcpv4 42", "serve rs 53"})

	if err := s.Reserve([]config.QueueSpec{{Kind: responder.KindNS, Num: 44}}); err != nil {
		t.Fatal(err)
	}
	s.StopAll()
	check("stop", f.take(), []string{"open 44", "close 44", "stopped dhcpv4 42", "stopped rs 53"})
}
