package responder

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// rateSnapshot binds the TAPs with the given indexes.
func rateSnapshot(indexes ...int) *binding.Snapshot {
	as := make([]*binding.Active, len(indexes))
	for i, ix := range indexes {
		as[i] = &binding.Active{Binding: binding.Binding{Name: "tap" + string(rune('a'+i))}, TapIndex: ix}
	}
	return binding.NewSnapshot(as)
}

// TestTapLimiterDecisions replays packets at given instants and checks each
// decision: the burst goes through at once, then one packet per interval,
// each TAP on its own bucket, and a log line at most once a minute that
// counts the refusals since the previous one.
func TestTapLimiterDecisions(t *testing.T) {
	const ms = int64(time.Millisecond)
	lim := RateLimit{PerSecond: 10, Burst: 3} // one packet per 100 ms
	type step struct {
		tap int
		at  int64
	}
	tests := []struct {
		name  string
		lim   RateLimit
		steps []step
		want  []rateDecision
	}{
		{
			name:  "burst then refusal",
			lim:   lim,
			steps: []step{{1, 0}, {1, 0}, {1, 0}, {1, 0}, {1, 0}},
			want: []rateDecision{{allowed: true}, {allowed: true}, {allowed: true},
				{logNow: true, dropped: 1}, {}},
		},
		{
			name:  "refill one interval at a time",
			lim:   lim,
			steps: []step{{1, 0}, {1, 0}, {1, 0}, {1, 50 * ms}, {1, 100 * ms}, {1, 100 * ms}, {1, 200 * ms}},
			want: []rateDecision{{allowed: true}, {allowed: true}, {allowed: true},
				{logNow: true, dropped: 1}, {allowed: true}, {}, {allowed: true}},
		},
		{
			name:  "TAPs have their own buckets",
			lim:   RateLimit{PerSecond: 1, Burst: 1},
			steps: []step{{1, 0}, {2, 0}, {1, 0}, {2, 0}, {3, 0}},
			want: []rateDecision{{allowed: true}, {allowed: true}, {logNow: true, dropped: 1},
				{logNow: true, dropped: 1}, {allowed: true}},
		},
		{
			name: "a line per minute counts the refusals in between",
			lim:  RateLimit{PerSecond: 1, Burst: 1},
			steps: []step{{1, 0}, {1, 1 * ms}, {1, 2 * ms}, {1, 3 * ms},
				{1, int64(time.Minute) + 1*ms}, {1, int64(time.Minute) + 2*ms}},
			want: []rateDecision{{allowed: true}, {logNow: true, dropped: 1}, {}, {},
				{allowed: true}, {logNow: true, dropped: 3}},
		},
		{
			name:  "burst below 1 counts as 1",
			lim:   RateLimit{PerSecond: 1000, Burst: 0},
			steps: []step{{1, 0}, {1, 0}, {1, ms}},
			want:  []rateDecision{{allowed: true}, {logNow: true, dropped: 1}, {allowed: true}},
		},
		{
			name:  "no limit",
			lim:   RateLimit{},
			steps: []step{{1, 0}, {1, 0}, {1, 0}, {1, 0}},
			want:  []rateDecision{{allowed: true}, {allowed: true}, {allowed: true}, {allowed: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l tapLimiter
			snap := rateSnapshot(1, 2, 3)
			var got []rateDecision
			for _, s := range tt.steps {
				got = append(got, l.allow(snap, s.tap, tt.lim, s.at))
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(rateDecision{})); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTapLimiterForgetsUnboundTAPs checks that buckets exist only for the
// TAPs of the current snapshot: a new snapshot prunes the rest, and a TAP
// bound again starts with a full bucket.
func TestTapLimiterForgetsUnboundTAPs(t *testing.T) {
	var l tapLimiter
	lim := RateLimit{PerSecond: 1, Burst: 1}
	first := rateSnapshot(1, 2, 3)
	for ix := 1; ix <= 3; ix++ {
		l.allow(first, ix, lim, 0)
	}
	if got := l.len(); got != 3 {
		t.Fatalf("buckets after three TAPs = %d, want 3", got)
	}
	second := rateSnapshot(2)
	if d := l.allow(second, 2, lim, 1); d.allowed {
		t.Errorf("TAP 2 allowed again within its interval after a snapshot change: its bucket was lost")
	}
	if got := l.len(); got != 1 {
		t.Errorf("buckets after the snapshot kept only TAP 2 = %d, want 1", got)
	}
	third := rateSnapshot(1, 2)
	if d := l.allow(third, 1, lim, 2); !d.allowed {
		t.Errorf("TAP 1 bound again was refused: its old bucket survived the unbinding")
	}
}

// TestTapLimiterBoundedByBindings checks that however many TAPs send, the
// limiter holds no more buckets than the snapshot binds.
func TestTapLimiterBoundedByBindings(t *testing.T) {
	var l tapLimiter
	lim := RateLimit{PerSecond: 1, Burst: 1}
	snap := rateSnapshot(1, 2, 3)
	for round := range 1000 {
		// The responder consults the limiter only for bound TAPs; a new
		// snapshot each round stands for binding churn.
		if round%10 == 0 {
			snap = rateSnapshot(round%7+1, round%5+10)
		}
		for _, a := range snap.All() {
			l.allow(snap, a.TapIndex, lim, int64(round))
		}
		if got, max := l.len(), snap.Len(); got > max {
			t.Fatalf("round %d: %d buckets for %d bound TAPs", round, got, max)
		}
	}
}

// TestTapLimiterDoesNotAllocate checks the steady path: a TAP that has its
// bucket is decided without allocating, allowed or refused.
func TestTapLimiterDoesNotAllocate(t *testing.T) {
	var l tapLimiter
	snap := rateSnapshot(1)
	lim := RateLimit{PerSecond: 100, Burst: 10}
	var now int64
	l.allow(snap, 1, lim, now)
	allocs := testing.AllocsPerRun(1000, func() {
		now += int64(time.Millisecond) // half allowed, half refused
		l.allow(snap, 1, lim, now)
	})
	if allocs != 0 {
		t.Errorf("allow allocates %.1f times per packet, want 0", allocs)
	}
}

func BenchmarkTapLimiterAllow(b *testing.B) {
	var l tapLimiter
	snap := rateSnapshot(1, 2, 3, 4)
	lim := RateLimit{PerSecond: DefaultRatePerSecond, Burst: DefaultRateBurst}
	b.ReportAllocs()
	var now int64
	for i := 0; b.Loop(); i++ {
		now += int64(time.Millisecond)
		l.allow(snap, i%4+1, lim, now)
	}
}
