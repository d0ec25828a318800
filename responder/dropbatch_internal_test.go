package responder

import (
	"fmt"
	"sync"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/google/go-cmp/cmp"
)

// recordingSetter records the verdict messages a dropBatch sends.
type recordingSetter struct {
	mu   sync.Mutex
	sent []string
}

func verdictName(v int) string {
	if v == nfqueue.NfDrop {
		return "drop"
	}
	return "accept"
}

func (r *recordingSetter) SetVerdict(id uint32, v int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, fmt.Sprintf("%s %d", verdictName(v), id))
	return nil
}

func (r *recordingSetter) SetVerdictBatch(id uint32, v int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, fmt.Sprintf("%s up to %d", verdictName(v), id))
	return nil
}

func (r *recordingSetter) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent...)
}

// A settlement is one packet handed to the batch, after a gap.
type settlement struct {
	after   time.Duration
	id      uint32
	verdict Verdict
}

// TestDropBatchSettles checks which verdict messages a sequence of packets
// produces: drops held only during bursts, accepts never held and never
// covered by a batch.
func TestDropBatchSettles(t *testing.T) {
	const fast, slow = 100 * time.Microsecond, 2 * time.Millisecond
	burstOf := func(first uint32, n int) []settlement {
		var s []settlement
		for i := range n {
			s = append(s, settlement{fast, first + uint32(i), Drop})
		}
		return s
	}
	tests := []struct {
		name    string
		packets []settlement
		want    []string
	}{
		{
			name:    "slow drops go one by one",
			packets: []settlement{{slow, 1, Drop}, {slow, 2, Drop}, {slow, 3, Accept}},
			want:    []string{"drop 1", "drop 2", "accept 3"},
		},
		{
			name:    "an accept flushes the held drops first",
			packets: []settlement{{slow, 1, Drop}, {fast, 2, Drop}, {fast, 3, Drop}, {fast, 4, Accept}, {fast, 5, Accept}},
			want:    []string{"drop 1", "drop up to 3", "accept 4", "accept 5"},
		},
		{
			name:    "a long burst is settled every dropBatchMax",
			packets: append([]settlement{{slow, 100, Drop}}, burstOf(101, 2*dropBatchMax)...),
			want:    []string{"drop 100", fmt.Sprintf("drop up to %d", 100+dropBatchMax), fmt.Sprintf("drop up to %d", 100+2*dropBatchMax)},
		},
		{
			name:    "IDs wrapping around are passed on as they are",
			packets: []settlement{{slow, 0xfffffffe, Accept}, {fast, 0xffffffff, Drop}, {fast, 0, Drop}, {fast, 1, Accept}},
			want:    []string{"accept 4294967294", "drop up to 0", "accept 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recordingSetter
			b := newDropBatch(&rec, func(err error) { t.Errorf("delayed flush: %v", err) })
			clock := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
			b.now = func() time.Time { return clock }
			for _, p := range tt.packets {
				clock = clock.Add(p.after)
				if err := b.settle(p.id, p.verdict); err != nil {
					t.Fatalf("settle(%d): %v", p.id, err)
				}
			}
			// Whatever the timer has not flushed yet, close does.
			if err := b.close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if diff := cmp.Diff(tt.want, rec.messages()); diff != "" {
				t.Errorf("verdict messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDropBatchTimerFlushes checks that held drops are settled within
// about dropBatchDelay when no further packet comes to flush them.
func TestDropBatchTimerFlushes(t *testing.T) {
	var rec recordingSetter
	b := newDropBatch(&rec, func(err error) { t.Errorf("delayed flush: %v", err) })
	defer b.close()
	// The burst is on a fake clock, so that a slow machine still sees one;
	// the timer is real.
	clock := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { clock = clock.Add(10 * time.Microsecond); return clock }
	for id := uint32(1); id <= 3; id++ {
		if err := b.settle(id, Drop); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"drop 1", "drop up to 3"}
	deadline := time.Now().Add(2 * time.Second)
	for !cmp.Equal(want, rec.messages()) {
		if time.Now().After(deadline) {
			t.Fatalf("after 2s the verdicts sent are %q, want %q", rec.messages(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDropBatchClosed checks that nothing is sent once the batch is
// closed, since the socket may be gone.
func TestDropBatchClosed(t *testing.T) {
	var rec recordingSetter
	b := newDropBatch(&rec, func(err error) { t.Errorf("delayed flush: %v", err) })
	if err := b.close(); err != nil {
		t.Fatal(err)
	}
	if err := b.settle(7, Accept); err == nil {
		t.Errorf("settle after close succeeded, want an error")
	}
	if got := rec.messages(); len(got) != 0 {
		t.Errorf("sent %q after close, want nothing", got)
	}
}
