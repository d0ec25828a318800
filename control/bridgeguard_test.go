package control

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// TestBridgeGuardStatusAndMetrics checks that the bridge guard's counters
// reach `nfdhcpd status` and the metrics, every reason even at zero, and
// that unreadable counters are said so instead of reported as zeros.
func TestBridgeGuardStatusAndMetrics(t *testing.T) {
	var stats responder.Stats
	var rs routing.Stats
	drops := func() (map[string]uint64, error) {
		return map[string]uint64{routing.GuardCounterMAC: 3, routing.GuardCounterDHCPServer: 7}, nil
	}
	report := func() Report {
		r := NewReport(nil, &stats)
		r.Routing = NewRoutingReport("none", &rs)
		r.Routing.BridgeGuard = NewGuardReport(&rs, drops)
		r.Routing.BridgeGuard.Ports = 2
		return r
	}
	var out strings.Builder
	if err := Print(&out, report()); err != nil {
		t.Fatal(err)
	}
	if want := "bridge guard: 2 TAPs guarded, dropped: mac 3, tagged 0, dhcp_server 7, router 0,"; !strings.Contains(out.String(), want) {
		t.Errorf("status lacks %q:\n%s", want, out.String())
	}
	handler := NewMetricsHandler(Sources{
		Report: report, Stats: &stats,
		Queues:       func() map[uint16]uint64 { return nil },
		Routing:      rs.Snapshot,
		KernelQueues: filepath.Join(t.TempDir(), "missing"),
	}, slog.New(slog.DiscardHandler))
	got := scrape(t, handler)
	for series, want := range map[string]float64{
		`nfdhcpd_bridge_guard_ports`:                               2,
		`nfdhcpd_bridge_guard_dropped_total{reason="mac"}`:         3,
		`nfdhcpd_bridge_guard_dropped_total{reason="dhcp_server"}`: 7,
		`nfdhcpd_bridge_guard_dropped_total{reason="na_target"}`:   0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}

	broken := NewGuardReport(&rs, func() (map[string]uint64, error) { return nil, errors.New("EPERM") })
	if line := guardLine(*broken); !strings.Contains(line, "counters unreadable: EPERM") {
		t.Errorf("unreadable counters not said: %s", line)
	}
}
