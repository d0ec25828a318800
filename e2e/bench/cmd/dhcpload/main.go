// Command dhcpload is the whole-system load benchmark behind `make bench`.
//
// It builds a "hypervisor" network namespace and one namespace per client
// VM (-clients), each joined to it by a veth pair whose hypervisor end is
// named like a TAP, then, one server at a time, runs the server in the
// hypervisor namespace and loads every client VM with DORA exchanges from
// its own MAC at its share of the rate, increasing the rate. The load
// comes from this program's packet generator (booting clients written
// straight onto each VM's eth0, batched system calls, no polling) or, with
// -client perfdhcp, from one ISC perfdhcp per VM. For each server it finds
// the highest rate with less than 1% of exchanges lost and reports, at
// that rate, the DISCOVER→OFFER and REQUEST→ACK delays, the server's CPU
// seconds per 10,000 exchanges and the clients' own. The servers are
// nfdhcpd behind an NFQUEUE rule, dnsmasq with a static host entry per
// VM, kea-dhcp4 with a reservation per VM, and the null responder: a
// program that takes the same queue through the daemon's own reader and
// drops every packet unanswered, the floor the kernel path sets.
//
// It measures hosts of several sizes (-taps): besides the loaded TAPs,
// idle TAPs of other VMs that every server is configured for. Where a
// rate fails, it counts the replies the clients' sockets had no room for,
// which tells the client's losses from the server's.
//
// It must run as root; it touches nothing outside its own namespaces.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nfdhcpd/nfdhcpd/e2e/bench"
)

func main() {
	nfdhcpdBin := flag.String("nfdhcpd", "", "nfdhcpd `binary` to benchmark")
	nullBin := flag.String("nullresponder", "", "null responder `binary`")
	only := flag.String("servers", "nfdhcpd,"+nullName+",dnsmasq,kea-dhcp4", "comma-separated `servers` to measure")
	clients := flag.Int("clients", 1, "client `VMs`, each on its own TAP, sharing the load (1 to 8; every host size must have as many TAPs)")
	clientMode := flag.String("client", clientGenerator, "what loads each client VM: \""+clientGenerator+"\" (this program's packet generator) or \""+clientPerfdhcp+"\" (one perfdhcp per VM; -client perfdhcp -clients 1 is the old rig, which perfdhcp itself limits)")
	seconds := flag.Int("seconds", 4, "duration of one trial in `seconds`")
	startRate := flag.Int("start", 1000, "first rate tried, exchanges per second")
	maxRate := flag.Int("max", 256000, "highest rate tried, exchanges per second")
	bisect := flag.Int("bisect", 3, "halvings that refine the rate between the last pass and the first failure")
	common := flag.Int("common", 500, "rate at which every server's CPU cost is also measured (0: skip)")
	atPeers := flag.Bool("at-peers", true, "also measure nfdhcpd's CPU cost at each peer's (dnsmasq's, Kea's) drop-free rate")
	taps := flag.String("taps", "1,241", "comma-separated host `sizes` in TAPs: the loaded one plus idle ones of other VMs, which every server is configured for; the null responders run on the first size only")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg := searchConfig{Start: *startRate, Max: *maxRate, Seconds: *seconds, Bisections: *bisect, Common: *common, AtPeers: *atPeers, Clients: *clients, Client: *clientMode}
	if *clientMode != clientGenerator && *clientMode != clientPerfdhcp {
		log.Error("bad -client", "value", *clientMode)
		os.Exit(2)
	}
	if *clients < 1 || *clients > maxClients {
		log.Error("bad -clients", "value", *clients, "want", fmt.Sprintf("1 to %d", maxClients))
		os.Exit(2)
	}
	for _, f := range strings.Split(*taps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < *clients || n > maxTAPs {
			log.Error("bad -taps", "value", f, "want", fmt.Sprintf("%d (-clients) to %d", *clients, maxTAPs))
			os.Exit(2)
		}
		cfg.TAPs = append(cfg.TAPs, n)
	}
	if err := run(ctx, log, *nfdhcpdBin, *nullBin, strings.Split(*only, ","), cfg); err != nil {
		log.Error("benchmark failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, nfdhcpdBin, nullBin string, only []string, cfg searchConfig) error {
	if os.Geteuid() != 0 {
		return errors.New("dhcpload: needs root to create network namespaces")
	}
	dir, err := os.MkdirTemp("", "nfdhcpd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	var rows []row
	for i, taps := range cfg.TAPs {
		more, err := measureHost(ctx, log, dir, taps, i == 0, nfdhcpdBin, nullBin, only, cfg)
		if err != nil {
			return err
		}
		rows = append(rows, more...)
	}
	printTable(os.Stdout, rows, cfg, time.Since(began))
	return nil
}

// measureHost measures the servers, one at a time, on a host of taps TAPs;
// the null responders, whose work does not depend on the host's size, only
// when withNull.
func measureHost(ctx context.Context, log *slog.Logger, dir string, taps int, withNull bool, nfdhcpdBin, nullBin string, only []string, cfg searchConfig) ([]row, error) {
	topo, err := newTopology(ctx, taps, cfg.Clients, cfg.Client)
	if err != nil {
		return nil, err
	}
	defer topo.close()
	var rows []row
	for _, s := range servers(nfdhcpdBin, nullBin) {
		if !contains(only, s.name) || s.null && !withNull {
			continue
		}
		log.Info("measuring", "server", s.name, "taps", taps)
		sdir := fmt.Sprintf("%s/%s-%d", dir, strings.ReplaceAll(s.name, " ", "-"), taps)
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return nil, err
		}
		r, err := measure(ctx, log, topo, s, sdir, cfg)
		if err != nil {
			return nil, err
		}
		r.taps = taps
		rows = append(rows, r)
	}
	if cfg.AtPeers {
		var peers []row
		for _, r := range rows {
			if r.server.name == "dnsmasq" || r.server.name == "kea-dhcp4" {
				peers = append(peers, r)
			}
		}
		for i := range rows {
			if rows[i].server.name == "nfdhcpd" && len(peers) > 0 {
				log.Info("measuring at the peers' rates", "server", "nfdhcpd", "taps", taps)
				if err := measureAtPeers(ctx, log, topo, &rows[i], peers, fmt.Sprintf("%s/nfdhcpd-at-peers-%d", dir, taps), cfg); err != nil {
					return nil, err
				}
			}
		}
	}
	return rows, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// measure runs the rate search against one server.
func measure(ctx context.Context, log *slog.Logger, topo *topology, s server, dir string, cfg searchConfig) (row, error) {
	log = log.With("server", s.name)
	trialFn, stop, err := serve(ctx, topo, s, dir, cfg)
	if err != nil {
		return row{}, err
	}
	defer stop()
	best, failed, err := searchRate(ctx, log, retryOnce(log, trialFn), cfg)
	if err != nil {
		return row{}, err
	}
	r := row{server: s, best: best, failed: failed}
	if cfg.Common > 0 {
		// The same rate for every server compares their cost per exchange
		// without the bias of each one's own best rate.
		if r.common, err = trialFn(cfg.Common); err != nil {
			return row{}, err
		}
		log.Info("common-rate trial", "rate", cfg.Common, "pass", r.common.Pass, "cpu_s", r.common.CPU)
	}
	return r, nil
}

// measureAtPeers runs ours once more, at each peer's drop-free rate, so
// that its CPU per exchange is compared with the peer's at the rate the
// peer itself was measured at: the rate where the peer is at its limit.
func measureAtPeers(ctx context.Context, log *slog.Logger, topo *topology, ours *row, peers []row, dir string, cfg searchConfig) error {
	log = log.With("server", ours.server.name)
	trialFn, stop, err := serve(ctx, topo, ours.server, dir, cfg)
	if err != nil {
		return err
	}
	defer stop()
	ours.atPeer = map[string]trial{}
	for _, peer := range peers {
		if peer.best.Rate == 0 || peer.best.Rate > ours.best.Rate {
			continue
		}
		tr, err := retryOnce(log, trialFn)(peer.best.Rate)
		if err != nil {
			return err
		}
		log.Info("trial at a peer's drop-free rate", "peer", peer.server.name, "rate", peer.best.Rate, "pass", tr.Pass, "cpu_s", tr.CPU)
		ours.atPeer[peer.server.name] = tr
	}
	return nil
}

// serve starts server s (the null responder needs no start: each of its
// trials runs it) and returns the function running one trial against it,
// and the one stopping it.
func serve(ctx context.Context, topo *topology, s server, dir string, cfg searchConfig) (func(rate int) (trial, error), func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if s.queued {
		if err := topo.queueRule(ctx, true); err != nil {
			return nil, nil, err
		}
		stops = append(stops, func() { topo.queueRule(context.WithoutCancel(ctx), false) })
	}
	if s.null {
		return func(rate int) (trial, error) { return nullTrial(ctx, topo, s, dir, rate, cfg.Seconds) }, stop, nil
	}
	p, err := start(topo, s, dir)
	if err != nil {
		stop()
		return nil, nil, err
	}
	stops = append(stops, p.Stop)
	if err := waitReady(ctx, topo, s, p); err != nil {
		stop()
		return nil, nil, err
	}
	return func(rate int) (trial, error) { return dhcpTrial(ctx, topo, s, p, rate, cfg.Seconds) }, stop, nil
}

// retryOnce runs a failed trial a second time and keeps the second result:
// on a shared machine one burst of someone else's work can sink a trial,
// and a rate is only called too high when it fails twice in a row.
func retryOnce(log *slog.Logger, run func(rate int) (trial, error)) func(rate int) (trial, error) {
	return func(rate int) (trial, error) {
		tr, err := run(rate)
		if err != nil || tr.Pass {
			return tr, err
		}
		log.Info("trial failed, retrying once", "rate", rate, "why", tr.Why, "per_client", tr.Res.ACKs)
		return run(rate)
	}
}

// dhcpTrial runs DORA exchanges at rate against a running server.
func dhcpTrial(ctx context.Context, topo *topology, s server, p *bench.Process, rate, seconds int) (trial, error) {
	tr := trial{Rate: rate}
	before, err := cpuSeconds(p.Cmd.Process.Pid)
	if err != nil {
		return tr, err
	}
	overflowsBefore, err := topo.clientOverflows()
	if err != nil {
		return tr, err
	}
	res, out, err := runClients(ctx, topo, perfRun{Rate: rate, Seconds: seconds, LocalPort: s.localPort})
	if err != nil {
		return tr, fmt.Errorf("%w\n%s", err, out)
	}
	after, err := cpuSeconds(p.Cmd.Process.Pid)
	if err != nil {
		return tr, fmt.Errorf("dhcpload: %s died during the trial at %d/s: %w\n%s", s.name, rate, err, p.Tail())
	}
	overflowsAfter, err := topo.clientOverflows()
	if err != nil {
		return tr, err
	}
	tr.Res, tr.CPU, tr.Done = res, after-before, res.Request.Received
	tr.ClientOverflows = overflowsAfter - overflowsBefore + res.SocketDrops
	judge(&tr, seconds)
	return tr, nil
}

// nullTrial starts the null responder, sends DISCOVERs at rate and counts
// how many reached it. The responder is restarted for every trial so that
// its count and CPU time cover that trial only.
func nullTrial(ctx context.Context, topo *topology, s server, dir string, rate, seconds int) (trial, error) {
	tr := trial{Rate: rate}
	_ = os.Remove(filepath.Join(dir, strings.ReplaceAll(s.name, " ", "-")+".out"))
	p, err := start(topo, s, dir)
	if err != nil {
		return tr, err
	}
	defer p.Stop()
	if err := waitReady(ctx, topo, s, p); err != nil {
		return tr, err
	}
	before, err := cpuSeconds(p.Cmd.Process.Pid)
	if err != nil {
		return tr, err
	}
	res, out, err := runClients(ctx, topo, perfRun{Rate: rate, Seconds: seconds, DiscoverOnly: true})
	if err != nil {
		return tr, fmt.Errorf("%w\n%s", err, out)
	}
	after, err := cpuSeconds(p.Cmd.Process.Pid)
	if err != nil {
		return tr, err
	}
	p.Stop()
	n, err := nullCount(p.Log)
	if err != nil {
		return tr, fmt.Errorf("%w\n%s", err, p.Tail())
	}
	tr.Res, tr.CPU, tr.Done = res, after-before, n
	judge(&tr, seconds)
	return tr, nil
}
