package control

import (
	"strings"
	"testing"
	"time"
)

func TestRoutingLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	counts := RoutingReport{Role: "vmc", Syncs: 12, FullSyncs: 2, SyncErrors: 1, OpsApplied: 4000, OpsFailed: 1}
	const prefix = "role vmc, 12 passes (2 full, 1 failed), 4000 kernel changes made, 1 refused"
	tests := []struct {
		name string
		last time.Time
		err  string
		want string
	}{
		{"no pass yet", time.Time{}, "", prefix + ", no pass yet"},
		{"latest pass succeeded", now.Add(-3 * time.Second), "", prefix + ", latest pass 3s ago"},
		{"latest pass failed", now.Add(-time.Minute), "route add 192.0.2.11/32: file exists", prefix + ", latest pass 1m0s ago failed: route add 192.0.2.11/32: file exists"},
		{"several changes refused", now.Add(-time.Second), "rule add: busy\nroute add: busy", prefix + ", latest pass 1s ago failed: rule add: busy (and more, see the log)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := counts
			r.LastSync, r.LastError = tt.last, tt.err
			if got := routingLine(r, now); got != tt.want {
				t.Errorf("routingLine() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestPrintStatusRouting checks that the routing line shows only when the
// routing module runs.
func TestPrintStatusRouting(t *testing.T) {
	for _, routing := range []*RoutingReport{nil, {Role: "gateway"}} {
		var out strings.Builder
		if err := Print(&out, Report{Version: "test", Routing: routing}); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Contains(out.String(), "routing: role gateway"), routing != nil; got != want {
			t.Errorf("with routing %+v the status shows a routing line: %v, want %v:\n%s", routing, got, want, out.String())
		}
	}
}
