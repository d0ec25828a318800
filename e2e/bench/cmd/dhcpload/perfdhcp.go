package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// exchangeStats are perfdhcp's figures for one half of the DORA exchange.
type exchangeStats struct {
	Sent, Received, Drops int
	AvgMS, MaxMS          float64 // NaN-free: 0 when nothing was received
}

// perfResult is what one perfdhcp run reported.
type perfResult struct {
	Rate              float64 // completed 4-way exchanges per second
	Discover, Request exchangeStats
	// ACKs are the ACKs each client received, when several ran.
	ACKs []int
	// SocketDrops are replies the generator's packet sockets had no room
	// for.
	SocketDrops int
	// ClientCPU is the CPU seconds the clients used.
	ClientCPU float64
}

// perfRun describes one perfdhcp run.
type perfRun struct {
	Rate, Seconds int
	// LocalPort is perfdhcp's port, which is also where it expects replies;
	// 0 keeps perfdhcp's default (67, the relay port).
	LocalPort int
	// DiscoverOnly sends DISCOVERs and expects nothing back (-i): the null
	// responder's load.
	DiscoverOnly bool
}

// runClients loads every client VM at once, each at its share of r.Rate,
// with the generator or one perfdhcp each, and adds up their reports.
func runClients(ctx context.Context, t *topology, r perfRun) (perfResult, string, error) {
	// What the load cost the clients: this process's CPU for the
	// generator, its children's (the perfdhcps, waited for) otherwise.
	who := unix.RUSAGE_SELF
	if t.mode == clientPerfdhcp {
		who = unix.RUSAGE_CHILDREN
	}
	before := rusageSeconds(who)
	res, out, err := runClientsOnce(ctx, t, r)
	res.ClientCPU = rusageSeconds(who) - before
	return res, out, err
}

func rusageSeconds(who int) float64 {
	var ru unix.Rusage
	if unix.Getrusage(who, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func runClientsOnce(ctx context.Context, t *topology, r perfRun) (perfResult, string, error) {
	if t.mode == clientGenerator {
		return runGenerator(ctx, t, r)
	}
	type result struct {
		res perfResult
		out string
		err error
	}
	results := make([]result, len(t.clients))
	var wg sync.WaitGroup
	for i, c := range t.clients {
		share := r
		share.Rate = r.Rate / len(t.clients)
		if i < r.Rate%len(t.clients) {
			share.Rate++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out, err := runPerfdhcp(ctx, c, share)
			results[i] = result{res, out, err}
		}()
	}
	wg.Wait()
	var (
		sum  perfResult
		outs []string
	)
	for i, x := range results {
		if x.err != nil {
			return sum, x.out, fmt.Errorf("client %d: %w", i, x.err)
		}
		outs = append(outs, x.out)
		sum.Rate += x.res.Rate
		sum.Discover = addStats(sum.Discover, x.res.Discover)
		sum.Request = addStats(sum.Request, x.res.Request)
		sum.ACKs = append(sum.ACKs, x.res.Request.Received)
	}
	return sum, strings.Join(outs, "\n"), nil
}

// addStats merges two clients' figures: counts add up, the average is
// weighted by the replies received, the maximum is the larger one.
func addStats(a, b exchangeStats) exchangeStats {
	sum := exchangeStats{Sent: a.Sent + b.Sent, Received: a.Received + b.Received, Drops: a.Drops + b.Drops, MaxMS: max(a.MaxMS, b.MaxMS)}
	if sum.Received > 0 {
		sum.AvgMS = (a.AvgMS*float64(a.Received) + b.AvgMS*float64(b.Received)) / float64(sum.Received)
	}
	return sum
}

// runPerfdhcp runs perfdhcp in client c's namespace as one client with
// c's MAC and parses its report.
func runPerfdhcp(ctx context.Context, c client, r perfRun) (perfResult, string, error) {
	args := []string{"netns", "exec", c.ns, "perfdhcp", "-4", "-l", "eth0",
		"-R", "1", "-b", "mac=" + c.mac,
		"-r", strconv.Itoa(r.Rate), "-p", strconv.Itoa(r.Seconds),
		// Wait 200 ms for late answers once sending stops, so that
		// exchanges in flight at the end are not counted as drops.
		"-W", "200000",
	}
	if r.LocalPort != 0 {
		args = append(args, "-L", strconv.Itoa(r.LocalPort))
	}
	if r.DiscoverOnly {
		args = append(args, "-i")
	}
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	text := string(out)
	// perfdhcp exits non-zero when packets were dropped; the report is
	// what counts, so only a missing report is an error.
	res, perr := parsePerfdhcp(text)
	if perr != nil {
		if err != nil {
			perr = fmt.Errorf("%w (perfdhcp: %v)", perr, err)
		}
		return res, text, perr
	}
	return res, text, nil
}

// parsePerfdhcp reads the statistics sections of perfdhcp's report.
func parsePerfdhcp(text string) (perfResult, error) {
	var res perfResult
	var cur *exchangeStats
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Rate:"):
			if f := strings.Fields(line); len(f) >= 2 {
				res.Rate, _ = strconv.ParseFloat(f[1], 64)
			}
		case line == "***Statistics for: DISCOVER-OFFER***":
			cur, seen = &res.Discover, seen+1
		case line == "***Statistics for: REQUEST-ACK***":
			cur, seen = &res.Request, seen+1
		case strings.HasPrefix(line, "***"):
			cur = nil
		case cur == nil:
		case strings.HasPrefix(line, "sent packets:"):
			cur.Sent = intAfter(line)
		case strings.HasPrefix(line, "received packets:"):
			cur.Received = intAfter(line)
		case strings.HasPrefix(line, "drops:"):
			cur.Drops = intAfter(line)
		case strings.HasPrefix(line, "avg delay:"):
			cur.AvgMS = msAfter(line)
		case strings.HasPrefix(line, "max delay:"):
			cur.MaxMS = msAfter(line)
		}
	}
	if seen == 0 {
		return res, fmt.Errorf("dhcpload: perfdhcp printed no statistics")
	}
	return res, nil
}

func intAfter(line string) int {
	_, v, _ := strings.Cut(line, ":")
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}

// msAfter reads "max delay: 1.234 ms"; "n/a" and nested labels give 0.
func msAfter(line string) float64 {
	_, v, _ := strings.Cut(line, ":")
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "ms" {
		return 0
	}
	x, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return x
}
