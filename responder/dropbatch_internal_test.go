package responder

import (
	"fmt"
	"sync"
	"testing"

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

// A settlement is one packet handed to the batch; endOfRead marks the end
// of a read.
type settlement struct {
	id      uint32
	verdict Verdict
}

var endOfRead = settlement{id: 1<<32 - 1, verdict: 255}

// TestDropBatchSettles checks which verdict messages a sequence of reads
// produces: drops held until the end of their read, accepts never held and
// never covered by a batch.
func TestDropBatchSettles(t *testing.T) {
	readOf := func(first uint32, n int) []settlement {
		var s []settlement
		for i := range n {
			s = append(s, settlement{first + uint32(i), Drop})
		}
		return s
	}
	tests := []struct {
		name    string
		packets []settlement
		want    []string
	}{
		{
			name:    "reads of one packet are settled one by one",
			packets: []settlement{{1, Drop}, endOfRead, {2, Drop}, endOfRead, {3, Accept}, endOfRead},
			want:    []string{"drop 1", "drop 2", "accept 3"},
		},
		{
			name:    "the drops of a read go in one batch",
			packets: append(readOf(1, 5), endOfRead, settlement{6, Drop}, endOfRead),
			want:    []string{"drop up to 5", "drop 6"},
		},
		{
			name:    "an accept flushes the held drops first",
			packets: []settlement{{1, Drop}, endOfRead, {2, Drop}, {3, Drop}, {4, Accept}, {5, Accept}, {6, Drop}, endOfRead},
			want:    []string{"drop 1", "drop up to 3", "accept 4", "accept 5", "drop 6"},
		},
		{
			name:    "a long read is settled every dropBatchMax",
			packets: append(readOf(101, 2*dropBatchMax+1), endOfRead),
			want:    []string{fmt.Sprintf("drop up to %d", 100+dropBatchMax), fmt.Sprintf("drop up to %d", 100+2*dropBatchMax), fmt.Sprintf("drop %d", 101+2*dropBatchMax)},
		},
		{
			name:    "IDs wrapping around are passed on as they are",
			packets: []settlement{{0xfffffffe, Accept}, {0xffffffff, Drop}, {0, Drop}, {1, Accept}, endOfRead},
			want:    []string{"accept 4294967294", "drop up to 0", "accept 1"},
		},
		{
			name:    "close settles what a read left held",
			packets: []settlement{{1, Drop}, {2, Drop}},
			want:    []string{"drop up to 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recordingSetter
			b := newDropBatch(&rec)
			for _, p := range tt.packets {
				if p == endOfRead {
					if err := b.endOfRead(); err != nil {
						t.Fatalf("endOfRead: %v", err)
					}
					continue
				}
				if err := b.settle(p.id, p.verdict); err != nil {
					t.Fatalf("settle(%d): %v", p.id, err)
				}
			}
			if err := b.close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if diff := cmp.Diff(tt.want, rec.messages()); diff != "" {
				t.Errorf("verdict messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDropBatchClosed checks that nothing is sent once the batch is
// closed, since the socket may be gone.
func TestDropBatchClosed(t *testing.T) {
	var rec recordingSetter
	b := newDropBatch(&rec)
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
