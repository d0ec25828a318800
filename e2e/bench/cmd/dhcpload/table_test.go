package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClientLimited(t *testing.T) {
	failedWith := func(sent, done, overflows int, why string) row {
		tr := trial{Rate: 1000, Done: done, ClientOverflows: overflows, Why: why}
		tr.Res.Discover.Sent = sent
		return row{failed: tr}
	}
	tests := []struct {
		name string
		r    row
		want bool
	}{
		{"no failing rate found", row{}, true},
		{"client could not send", failedWith(3000, 3000, 0, "the client sent only 3000 of 4000 DISCOVERs"), true},
		{"losses in the client's socket", failedWith(4000, 3000, 950, "25.00% lost"), true},
		{"losses elsewhere", failedWith(4000, 3000, 100, "25.00% lost"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.clientLimited(); got != tt.want {
				t.Errorf("clientLimited() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRatioLines(t *testing.T) {
	at := func(name string, taps, rate int, cpu float64, null bool) row {
		best := trial{Rate: rate, Pass: true, Done: rate * 4, CPU: cpu}
		failed := trial{Rate: rate * 2, Done: rate * 4, Why: "50.00% lost"}
		failed.Res.Discover.Sent = rate * 8
		return row{server: server{name: name, null: null}, taps: taps, best: best, failed: failed}
	}
	ours := at("nfdhcpd", 1, 6000, 2.4, false)
	// At dnsmasq's 5000/s: 20,000 exchanges for 1 CPU s, against
	// dnsmasq's 4 s: a quarter.
	ours.atPeer = map[string]trial{"dnsmasq": {Rate: 5000, Pass: true, Done: 20000, CPU: 1}}
	ours.common = trial{Rate: 500, Pass: true, Done: 2000, CPU: 0.3}
	dnsmasq := at("dnsmasq", 1, 5000, 4, false)
	dnsmasq.common = trial{Rate: 500, Pass: true, Done: 2000, CPU: 0.6}
	rows := []row{
		ours,
		at(nullName, 1, 18000, 1, true),
		dnsmasq,
		at("nfdhcpd", 200, 6000, 2.4, false),
		at("dnsmasq", 200, 2000, 4, false),
	}
	want := []string{
		"1 TAPs: nfdhcpd/dnsmasq drop-free rate = 1.20×, CPU per exchange = 0.50× (each at its own drop-free rate)",
		"1 TAPs: nfdhcpd/dnsmasq CPU per exchange at the same rate, dnsmasq's drop-free 5000/s = 0.25× (0.500 against 2.000 CPU s per 10k exch)",
		"1 TAPs: nfdhcpd/dnsmasq CPU per exchange at the same rate, 500/s = 0.50×",
		"1 TAPs: null responder/nfdhcpd queue input = 1.50× (goal ≤ 1.5×)",
		"200 TAPs: nfdhcpd/dnsmasq drop-free rate = 3.00×, CPU per exchange = 0.20× (each at its own drop-free rate)",
	}
	if diff := cmp.Diff(want, ratioLines(rows)); diff != "" {
		t.Errorf("ratioLines (-want +got):\n%s", diff)
	}
}
