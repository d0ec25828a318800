package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
)

// A trial is one load run at a fixed rate against one server.
type trial struct {
	Rate int
	Pass bool
	Why  string // why it failed
	Res  perfResult
	// Done is what counts as served: ACKs received for a DHCP server,
	// packets received for the null responder.
	Done int
	CPU  float64 // server CPU seconds during the run
	// ClientOverflows is how many replies the VM's kernel dropped because
	// the client's socket was full: losses of the client, not the server.
	ClientOverflows int
}

// searchConfig bounds the rate search.
type searchConfig struct {
	Start, Max, Seconds int
	// Bisections is how many halvings refine the rate between the last
	// pass and the first failure.
	Bisections int
	// Common is the rate at which every server's CPU cost is measured
	// once more; 0 skips it.
	Common int
	// AtPeers asks for nfdhcpd's CPU cost at each peer's drop-free rate.
	AtPeers bool
	// TAPs are the host sizes measured: the loaded TAPs and idle ones.
	TAPs []int
	// Clients is how many client VMs share the load, Client what runs
	// in them (clientGenerator or clientPerfdhcp).
	Clients int
	Client  string
}

// maxDropPercent is the share of exchanges, in percent, at which a rate is
// no longer drop-free.
const maxDropPercent = 1

// minSendRatio is the share of the asked rate the client must really send
// for a trial to count: below it the client, not the server, was the
// limit.
const minSendRatio = 0.95

// searchRate doubles the rate from cfg.Start until a trial fails, then
// bisects between the last pass and the first failure. It returns the best
// passing trial (zero Rate when none passed) and the first failing one.
func searchRate(ctx context.Context, log *slog.Logger, run func(rate int) (trial, error), cfg searchConfig) (best, failed trial, err error) {
	rate := cfg.Start
	for rate <= cfg.Max {
		tr, err := run(rate)
		if err != nil {
			return best, failed, err
		}
		log.Info("trial", "rate", rate, "pass", tr.Pass, "why", tr.Why, "done", tr.Done, "per_client", tr.Res.ACKs, "cpu_s", tr.CPU, "client_cpu_s", tr.Res.ClientCPU)
		if !tr.Pass {
			failed = tr
			break
		}
		best = tr
		rate *= 2
	}
	if best.Rate == 0 {
		// Even the starting rate failed: walk down instead.
		for rate = cfg.Start / 2; rate >= 50 && best.Rate == 0; rate /= 2 {
			tr, err := run(rate)
			if err != nil {
				return best, failed, err
			}
			log.Info("trial", "rate", rate, "pass", tr.Pass, "why", tr.Why, "done", tr.Done, "cpu_s", tr.CPU)
			if tr.Pass {
				best = tr
			} else {
				failed = tr
			}
		}
	}
	if best.Rate == 0 || failed.Rate == 0 {
		return best, failed, ctx.Err()
	}
	lo, hi := best.Rate, failed.Rate
	for range cfg.Bisections {
		mid := (lo + hi) / 2 / 50 * 50
		if mid <= lo || mid >= hi {
			break
		}
		tr, err := run(mid)
		if err != nil {
			return best, failed, err
		}
		log.Info("trial", "rate", mid, "pass", tr.Pass, "why", tr.Why, "done", tr.Done, "cpu_s", tr.CPU)
		if tr.Pass {
			best, lo = tr, mid
		} else {
			failed, hi = tr, mid
		}
	}
	return best, failed, ctx.Err()
}

// judge decides whether a trial passes.
func judge(tr *trial, seconds int) {
	sent := tr.Res.Discover.Sent
	switch {
	case float64(sent) < minSendRatio*float64(tr.Rate*seconds):
		tr.Why = fmt.Sprintf("the client sent only %d of %d DISCOVERs", sent, tr.Rate*seconds)
	case sent == 0:
		tr.Why = "nothing sent"
	case 100*(sent-tr.Done) >= maxDropPercent*sent:
		tr.Why = fmt.Sprintf("%.2f%% lost", 100*(1-float64(tr.Done)/float64(sent)))
		if tr.ClientOverflows > 0 {
			tr.Why += fmt.Sprintf(", %d replies overflowing the client's socket", tr.ClientOverflows)
		}
	default:
		tr.Pass = true
	}
}

var nullCountLine = regexp.MustCompile(`(?m)^packets (\d+)$`)

// nullCount reads the count the null responder printed at exit.
func nullCount(logPath string) (int, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0, err
	}
	m := nullCountLine.FindAllSubmatch(b, -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("dhcpload: the null responder printed no count")
	}
	return strconv.Atoi(string(m[len(m)-1][1]))
}
