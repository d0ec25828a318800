package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// A row is one server's line of the result table.
type row struct {
	server               server
	taps                 int
	best, failed, common trial
	// atPeer holds nfdhcpd's trials at each peer's drop-free rate, by peer.
	atPeer map[string]trial
}

// queuedPPS is the packet rate through the server's input at its best
// rate: two requests per DORA exchange, one DISCOVER per null packet.
func (r row) queuedPPS() float64 {
	if r.server.null {
		return float64(r.best.Rate)
	}
	return 2 * float64(r.best.Rate)
}

// cpuPer10k is the server's CPU seconds per 10,000 exchanges (per 10,000
// packets for the null responder) in trial tr.
func cpuPer10k(tr trial) string {
	if tr.Done == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", tr.CPU/float64(tr.Done)*10000)
}

// clientLimited reports whether the search stopped because of the client:
// it could not send the next rate, or most of that rate's losses were
// replies its socket had no room for, or no failing rate was found at all.
func (r row) clientLimited() bool {
	if r.failed.Rate == 0 || strings.HasPrefix(r.failed.Why, "the client sent only") {
		return true
	}
	lost := r.failed.Res.Discover.Sent - r.failed.Done
	return lost > 0 && 10*r.failed.ClientOverflows >= 9*lost
}

// clientCPUPer10k is what the load cost the clients (the generator's
// process, or the perfdhcps) per 10,000 exchanges or null packets: the
// server limits the rate only where this stays well below its own.
func clientCPUPer10k(tr trial) string {
	if tr.Done == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", tr.Res.ClientCPU/float64(tr.Done)*10000)
}

func delays(s exchangeStats, null bool) string {
	if null || s.Received == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f / %.1f", s.AvgMS, s.MaxMS)
}

// printTable writes the result table and the ratios the issue asks for.
func printTable(w io.Writer, rows []row, cfg searchConfig, took time.Duration) {
	fmt.Fprintf(w, "\nDHCPv4 DORA, %d client VMs (%s) on their own TAPs of the host, %d s per trial, drop-free = < %d%% of exchanges lost; run took %s\n\n",
		cfg.Clients, clientDescription(cfg.Client), cfg.Seconds, maxDropPercent, took.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\thost\tdrop-free rate\tqueue input\tDISCOVER→OFFER\tREQUEST→ACK\tCPU s per\tCPU s per 10k\tclients' CPU s\tnext rate failed\t")
	fmt.Fprintf(tw, "\tTAPs\texch/s\tpkt/s\tavg / max ms\tavg / max ms\t10k exch\tat %d/s\tper 10k exch\t\t\n", cfg.Common)
	for _, r := range rows {
		failed := "-"
		if r.failed.Rate != 0 {
			failed = fmt.Sprintf("%d/s: %s", r.failed.Rate, r.failed.Why)
		}
		rate := fmt.Sprint(r.best.Rate)
		if r.server.null {
			rate = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.server.name, r.taps, rate, r.queuedPPS(),
			delays(r.best.Res.Discover, r.server.null), delays(r.best.Res.Request, r.server.null),
			cpuPer10k(r.best), cpuPer10k(r.common), clientCPUPer10k(r.best), failed)
	}
	tw.Flush()

	if ratios := ratioLines(rows); len(ratios) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(ratios, "\n"))
	}
	fmt.Fprintln(w, "\nThe null rows count DISCOVERs only (no REQUEST follows) that reached a program taking the same queue and dropping them;")
	fmt.Fprintln(w, "their CPU column is per 10,000 packets. Queue input compares the packet rates into the queue: a DORA exchange")
	fmt.Fprintln(w, "puts two requests through it. Every row was measured in this run.")
}

// ratioLines states the ratios: nfdhcpd against dnsmasq and Kea on
// each host size, and the null responders (first host size) against
// nfdhcpd on the same host.
func ratioLines(rows []row) []string {
	type key struct {
		name string
		taps int
	}
	byKey := map[key]row{}
	var sizes []int
	for _, r := range rows {
		byKey[key{r.server.name, r.taps}] = r
		if len(sizes) == 0 || sizes[len(sizes)-1] != r.taps {
			sizes = append(sizes, r.taps)
		}
	}
	var lines []string
	for _, taps := range sizes {
		ours, ok := byKey[key{"nfdhcpd", taps}]
		if !ok || ours.best.Rate == 0 {
			continue
		}
		for _, other := range []string{"dnsmasq", "kea-dhcp4"} {
			if r, ok := byKey[key{other, taps}]; ok && r.best.Rate > 0 {
				lines = append(lines, fmt.Sprintf("%d TAPs: nfdhcpd/%s drop-free rate = %.2f×, CPU per exchange = %s (each at its own drop-free rate)",
					taps, other, float64(ours.best.Rate)/float64(r.best.Rate), cpuRatio(ours.best, r.best)))
				if at, ok := ours.atPeer[other]; ok {
					lines = append(lines, fmt.Sprintf("%d TAPs: nfdhcpd/%s CPU per exchange at the same rate, %s's drop-free %d/s = %s (%s against %s CPU s per 10k exch%s)",
						taps, other, other, r.best.Rate, cpuRatio(at, r.best), cpuPer10k(at), cpuPer10k(r.best), passNote(at)))
				}
				if ours.common.Done > 0 && r.common.Done > 0 {
					lines = append(lines, fmt.Sprintf("%d TAPs: nfdhcpd/%s CPU per exchange at the same rate, %d/s = %s",
						taps, other, ours.common.Rate, cpuRatio(ours.common, r.common)))
				}
			}
		}
		for _, null := range []string{nullName} {
			if r, ok := byKey[key{null, taps}]; ok && r.best.Rate > 0 {
				note := ""
				if r.clientLimited() {
					note = "; the null rate was limited by the client, so this is a lower bound"
				}
				lines = append(lines, fmt.Sprintf("%d TAPs: %s/nfdhcpd queue input = %.2f× (goal ≤ 1.5×%s)", taps, null, r.queuedPPS()/ours.queuedPPS(), note))
			}
		}
		if ours.clientLimited() {
			lines = append(lines, fmt.Sprintf("%d TAPs: nfdhcpd's rate was limited by the client (it could not send or take faster), not by nfdhcpd", taps))
		}
	}
	return lines
}

// passNote flags a trial that lost more than the drop-free share.
func passNote(tr trial) string {
	if tr.Pass {
		return ""
	}
	return "; nfdhcpd's trial failed: " + tr.Why
}

// cpuRatio compares the CPU per exchange of two trials.
func cpuRatio(ours, other trial) string {
	if ours.Done == 0 || other.Done == 0 || ours.CPU == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", (ours.CPU/float64(ours.Done))/(other.CPU/float64(other.Done)))
}

// clientDescription names the load of -client mode.
func clientDescription(mode string) string {
	if mode == clientPerfdhcp {
		return "perfdhcp -R 1 each, as a relay"
	}
	return "the packet generator, as booting clients"
}
