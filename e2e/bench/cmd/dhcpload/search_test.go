package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name      string
		rate      int
		sent      int
		done      int
		overflows int
		wantPass  bool
		wantWhy   string
	}{
		{"all answered", 1000, 4000, 4000, 0, true, ""},
		{"just under 1% lost", 1000, 4000, 3961, 0, true, ""},
		{"1% lost", 1000, 4000, 3960, 0, false, "1.00% lost"},
		{"lost in the client", 1000, 4000, 3000, 1800, false, "25.00% lost, 1800 replies overflowing the client's socket"},
		{"client too slow", 1000, 3799, 3799, 0, false, "the client sent only 3799 of 4000 DISCOVERs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := trial{Rate: tt.rate, Done: tt.done, ClientOverflows: tt.overflows}
			tr.Res.Discover.Sent = tt.sent
			judge(&tr, 4)
			if diff := cmp.Diff([]any{tt.wantPass, tt.wantWhy}, []any{tr.Pass, tr.Why}); diff != "" {
				t.Errorf("judge (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSearchRate runs the search against servers that sustain a known
// rate and checks which rates it tried and what it found.
func TestSearchRate(t *testing.T) {
	tests := []struct {
		name      string
		capacity  int
		cfg       searchConfig
		wantTried []int
		wantBest  int
		wantFail  int
	}{
		{"doubling then bisecting", 5000, searchConfig{Start: 1000, Max: 100000, Bisections: 3},
			[]int{1000, 2000, 4000, 8000, 6000, 5000, 5500}, 5000, 5500},
		{"below the start", 300, searchConfig{Start: 1000, Max: 100000, Bisections: 2},
			[]int{1000, 500, 250, 350, 300}, 300, 350},
		{"never fails", 1 << 30, searchConfig{Start: 1000, Max: 4000, Bisections: 3},
			[]int{1000, 2000, 4000}, 4000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tried []int
			run := func(rate int) (trial, error) {
				tried = append(tried, rate)
				return trial{Rate: rate, Pass: rate <= tt.capacity}, nil
			}
			best, failed, err := searchRate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), run, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantTried, tried); diff != "" {
				t.Errorf("rates tried (-want +got):\n%s", diff)
			}
			if best.Rate != tt.wantBest || failed.Rate != tt.wantFail {
				t.Errorf("best %d, first failure %d; want %d, %d", best.Rate, failed.Rate, tt.wantBest, tt.wantFail)
			}
		})
	}
}

func TestRetryOnce(t *testing.T) {
	tests := []struct {
		name     string
		results  []bool // pass of each successive run
		wantRuns int
		wantPass bool
	}{
		{"pass at once", []bool{true}, 1, true},
		{"fail then pass", []bool{false, true}, 2, true},
		{"fail twice", []bool{false, false, true}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := 0
			run := func(rate int) (trial, error) {
				pass := tt.results[runs]
				runs++
				return trial{Rate: rate, Pass: pass}, nil
			}
			tr, err := retryOnce(slog.New(slog.NewTextHandler(io.Discard, nil)), run)(1000)
			if err != nil {
				t.Fatal(err)
			}
			if runs != tt.wantRuns || tr.Pass != tt.wantPass {
				t.Errorf("%d runs, pass %v; want %d runs, pass %v", runs, tr.Pass, tt.wantRuns, tt.wantPass)
			}
		})
	}
}

func TestSNMPCounter(t *testing.T) {
	const snmp = `Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 88735 0 22513 90001 22513 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 7 0 0 0 0
`
	got, err := snmpCounter(snmp, "Udp", "RcvbufErrors")
	if err != nil || got != 22513 {
		t.Errorf("Udp RcvbufErrors = %d, %v; want 22513", got, err)
	}
	if got, err := snmpCounter(snmp, "UdpLite", "RcvbufErrors"); err != nil || got != 7 {
		t.Errorf("UdpLite RcvbufErrors = %d, %v; want 7", got, err)
	}
	if _, err := snmpCounter(snmp, "Tcp", "RcvbufErrors"); err == nil {
		t.Errorf("a missing section gave no error")
	}
}
