package responder

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// raFakeClock is a clock that moves only when the test says so. Every
// After call signals parked, so the test knows the loop is waiting.
type raFakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []raWaiter
	parked  chan struct{}
}

type raWaiter struct {
	at time.Time
	ch chan time.Time
}

func newRAFakeClock(now time.Time) *raFakeClock {
	return &raFakeClock{now: now, parked: make(chan struct{}, 1024)}
}

func (c *raFakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *raFakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, raWaiter{c.now.Add(d), ch})
	c.mu.Unlock()
	c.parked <- struct{}{}
	return ch
}

// waitParked waits until the loop asks for a timer.
func (c *raFakeClock) waitParked(t *testing.T) {
	t.Helper()
	select {
	case <-c.parked:
	case <-time.After(5 * time.Second):
		t.Fatal("the RA loop never waited on the clock")
	}
}

// fire moves the clock to the deadline of the timer the loop waits on and
// wakes it.
func (c *raFakeClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.waiters[len(c.waiters)-1]
	if last.at.After(c.now) {
		c.now = last.at
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// raFakeBindings is a binding table the test replaces at will.
type raFakeBindings struct {
	s atomic.Pointer[binding.Snapshot]
}

func (b *raFakeBindings) Snapshot() *binding.Snapshot { return b.s.Load() }

// raFakeSender records when each interface got a frame; it fails for the
// interfaces in fail.
type raFakeSender struct {
	mu    sync.Mutex
	clock *raFakeClock
	fail  map[int]bool
	sent  map[int][]time.Duration // since the start of the test
	start time.Time
	last  []byte
}

func (s *raFakeSender) Send(ifindex int, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail[ifindex] {
		return errors.New("no such device")
	}
	s.sent[ifindex] = append(s.sent[ifindex], s.clock.Now().Sub(s.start))
	s.last = append(s.last[:0], frame...)
	return nil
}

func (s *raFakeSender) times() map[int][]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int][]time.Duration, len(s.sent))
	for k, v := range s.sent {
		out[k] = append([]time.Duration(nil), v...)
	}
	return out
}

func raActive(name string, index int, ipv6 bool) *binding.Active {
	a := &binding.Active{
		Binding: binding.Binding{
			Name: name, Indev: name, MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, byte(index)},
			IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(index)}),
		},
		TapIndex: index,
		IndevMAC: net.HardwareAddr{0xfe, 0x54, 0, 0, 0, byte(index)},
	}
	if ipv6 {
		a.Subnet6 = netip.MustParsePrefix("2001:db8:1::/64")
		a.EUI64, _ = binding.EUI64(a.MAC, a.Subnet6)
	}
	return a
}

// raHarness runs the periodic RA loop on a fake clock.
type raHarness struct {
	clock    *raFakeClock
	bindings *raFakeBindings
	sender   *raFakeSender
	changes  chan struct{}
	start    time.Time
	done     chan error
	// parked is true when the loop is known to wait on its latest timer
	// and its signal was consumed.
	parked bool
}

const raTestPeriod = 60 * time.Second

func newRAHarness(t *testing.T, active ...*binding.Active) *raHarness {
	t.Helper()
	// A start time inside a period, so that slots are not all "now".
	start := time.Unix(1_700_000_017, 0)
	h := &raHarness{
		clock:    newRAFakeClock(start),
		bindings: &raFakeBindings{},
		changes:  make(chan struct{}),
		start:    start,
		done:     make(chan error, 1),
	}
	h.sender = &raFakeSender{clock: h.clock, fail: map[int]bool{}, sent: map[int][]time.Duration{}, start: start}
	h.bindings.s.Store(binding.NewSnapshot(active))
	r := New(h.bindings, h.sender, Options{IPv6: true, RAPeriod: raTestPeriod}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- r.runPeriodicRA(ctx, h.changes, h.clock) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("RunPeriodicRA: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("RunPeriodicRA did not return after cancel")
		}
	})
	return h
}

// runUntil wakes the loop timer after timer until d after the start has
// passed, and returns with the loop parked.
func (h *raHarness) runUntil(t *testing.T, d time.Duration) {
	t.Helper()
	for {
		if !h.parked {
			h.clock.waitParked(t)
			h.parked = true
		}
		if h.clock.Now().Sub(h.start) >= d {
			return
		}
		h.clock.fire()
		h.parked = false
	}
}

// change replaces the bindings and notifies the loop.
func (h *raHarness) change(t *testing.T, active ...*binding.Active) {
	t.Helper()
	h.bindings.s.Store(binding.NewSnapshot(active))
	select {
	case h.changes <- struct{}{}:
	case <-time.After(5 * time.Second):
		t.Fatal("the RA loop did not take the change notification")
	}
	h.parked = false
}

// raIntervals returns the gaps between consecutive sends.
func raIntervals(times []time.Duration) []time.Duration {
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i]-times[i-1])
	}
	return gaps
}

func TestPeriodicRASpreadOverThePeriod(t *testing.T) {
	h := newRAHarness(t, raActive("tap1", 1, true), raActive("tap2", 2, true), raActive("tap3", 3, true), raActive("tap4", 4, false))
	h.runUntil(t, 3*raTestPeriod)
	got := h.sender.times()
	if _, ok := got[4]; ok {
		t.Errorf("the IPv4-only binding got router advertisements at %v", got[4])
	}
	firsts := map[time.Duration]bool{}
	for _, idx := range []int{1, 2, 3} {
		times := got[idx]
		if len(times) < 3 {
			t.Fatalf("tap%d got %d advertisements in 3 periods, want 3: %v", idx, len(times), times)
		}
		if times[0] <= 0 || times[0] > raTestPeriod {
			t.Errorf("tap%d: first advertisement at %v, want within the first period", idx, times[0])
		}
		if diff := cmp.Diff([]time.Duration{raTestPeriod, raTestPeriod}, raIntervals(times[:3])); diff != "" {
			t.Errorf("tap%d: gaps between advertisements (-want +got):\n%s", idx, diff)
		}
		firsts[times[0]] = true
	}
	if len(firsts) != 3 {
		t.Errorf("the three TAPs share instants, not spread: %v", got)
	}
}

func TestPeriodicRAFollowsChanges(t *testing.T) {
	tap1, tap2 := raActive("tap1", 1, true), raActive("tap2", 2, true)
	h := newRAHarness(t, tap1, tap2)
	h.runUntil(t, raTestPeriod)
	before := h.sender.times()

	// tap3 appears: one advertisement at once; tap2 goes away.
	at := h.clock.Now().Sub(h.start)
	h.change(t, tap1, raActive("tap3", 3, true))
	h.runUntil(t, 3*raTestPeriod)
	after := h.sender.times()

	if len(after[3]) < 2 || after[3][0] != at {
		t.Errorf("new TAP got advertisements at %v, want the first at %v and more later", after[3], at)
	}
	if diff := cmp.Diff(before[2], after[2]); diff != "" {
		t.Errorf("removed TAP still got advertisements (-before +after):\n%s", diff)
	}
	if len(after[1]) < 3 {
		t.Errorf("remaining TAP got %d advertisements, want at least 3", len(after[1]))
	}
}

func TestPeriodicRARecreatedTAPGetsPromptRA(t *testing.T) {
	h := newRAHarness(t, raActive("tap1", 1, true))
	h.runUntil(t, raTestPeriod/2)
	at := h.clock.Now().Sub(h.start)
	h.change(t, raActive("tap1", 11, true)) // same name, new interface index
	h.runUntil(t, raTestPeriod)
	got := h.sender.times()[11]
	if len(got) == 0 || got[0] != at {
		t.Errorf("recreated TAP got advertisements at %v, want the first at %v", got, at)
	}
}

func TestPeriodicRAOneFailureDoesNotStopTheOthers(t *testing.T) {
	h := newRAHarness(t, raActive("tap1", 1, true), raActive("tap2", 2, true))
	h.sender.mu.Lock()
	h.sender.fail[1] = true
	h.sender.mu.Unlock()
	h.runUntil(t, 3*raTestPeriod)
	got := h.sender.times()
	if len(got[2]) < 3 {
		t.Errorf("healthy TAP got %d advertisements in 3 periods, want 3", len(got[2]))
	}
	if len(got[1]) != 0 {
		t.Errorf("failing TAP recorded sends: %v", got[1])
	}
}

func TestPeriodicRAIsMulticast(t *testing.T) {
	h := newRAHarness(t, raActive("tap1", 1, true))
	h.runUntil(t, raTestPeriod)
	h.sender.mu.Lock()
	frame := append([]byte(nil), h.sender.last...)
	h.sender.mu.Unlock()
	if len(frame) < 14+40+16 {
		t.Fatalf("no advertisement sent (%d bytes)", len(frame))
	}
	type header struct {
		DstMAC   string
		Dst      netip.Addr
		ICMPType byte
	}
	want := header{"33:33:00:00:00:01", netip.MustParseAddr("ff02::1"), 134}
	got := header{net.HardwareAddr(frame[0:6]).String(), netip.AddrFrom16([16]byte(frame[14+24 : 14+40])), frame[14+40]}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("periodic advertisement (-want +got):\n%s", diff)
	}
}

func TestRASlot(t *testing.T) {
	now := time.Unix(1_700_000_017, 500)
	for _, name := range []string{"tap0", "tap1", "a-much-longer-tap-name", ""} {
		s := raSlot(name, raTestPeriod, now)
		if !s.After(now) || s.Sub(now) > raTestPeriod {
			t.Errorf("raSlot(%q) = now+%v, want within (0, %v]", name, s.Sub(now), raTestPeriod)
		}
		if again := raSlot(name, raTestPeriod, s); again.Sub(s) != raTestPeriod {
			t.Errorf("raSlot(%q) from its own slot moves %v, want one period", name, again.Sub(s))
		}
	}
}

// TestPromptRAForgetsUnboundTAPs checks that the prompt advertisements'
// clocks of TAPs no longer bound are dropped when the RA loop replans.
func TestPromptRAForgetsUnboundTAPs(t *testing.T) {
	var p raPrompts
	for _, index := range []int{3, 4, 5} {
		p.entry(index).Store(1)
	}
	p.keepOnly(map[raKey]bool{{name: "tap4", index: 4}: true})
	if len(p.last) != 1 || p.last[4] == nil || p.last[4].Load() != 1 {
		t.Errorf("clocks left for %v, want only TAP index 4's, untouched", p.last)
	}
}
