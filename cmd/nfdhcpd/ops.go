package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// startOps starts what operators use to watch the daemon, once its queues
// are open: the control socket (`nfdhcpd status`), the metrics endpoint
// when configured, and then the switch to the configured user. The servers
// run in g until ctx is done. These settings are read at start only: a
// reload does not move the socket or the endpoint.
func (d *daemon) startOps(ctx context.Context, g *errgroup.Group) error {
	started := time.Now()
	general := d.cfg.General
	report := func() statusReport {
		r := newStatusReport(d.table.Status(), &d.resp.Stats)
		r.Version, r.PID, r.Started = version(), os.Getpid(), started
		r.Config, r.Datapath = d.configPath, general.DataPath
		if d.cfg.Routing.Enable {
			r.Routing = newRoutingReport(d.cfg.Routing.Role, &d.routingStats)
		}
		return r
	}
	src := metricsSources{
		report:       report,
		stats:        &d.resp.Stats,
		queues:       d.openQueues.overflows,
		kernelQueues: procNfnetlinkQueue,
	}
	if d.cfg.Routing.Enable {
		src.routing = d.routingStats.Snapshot
	}
	src.activity = d.activityMetrics
	metrics := newMetricsHandler(src, d.log)
	if general.ControlSocket != "" {
		ln, err := listenControl(general.ControlSocket)
		if err != nil {
			return err
		}
		d.log.Info("control socket listening", "path", general.ControlSocket)
		// Only the control socket's status carries each VM's activity: the
		// metrics scrape reads the counters alone.
		withActivity := func() statusReport { r := report(); d.addActivity(&r); return r }
		g.Go(func() error { return serveHTTP(ctx, ln, opsHandler(withActivity, metrics, true), d.log) })
	}
	if general.MetricsListen != "" {
		ln, err := net.Listen("tcp", general.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		d.log.Info("metrics endpoint listening", "address", ln.Addr().String())
		// Only counters over TCP: the binding list names VMs' addresses.
		g.Go(func() error { return serveHTTP(ctx, ln, opsHandler(report, metrics, false), d.log) })
	}
	if general.User != "" {
		if err := dropPrivileges(general.User, d.log); err != nil {
			return err
		}
	}
	return nil
}

// A queueRegistry remembers the queues the daemon opened, by number, so
// that the metrics endpoint can read their overflow counters. A queue
// reopened under the same number replaces the old one; one whose number
// left the configuration stays until the daemon restarts.
type queueRegistry struct {
	mu     sync.Mutex
	queues map[uint16]*responder.Queue
}

func (r *queueRegistry) add(q *responder.Queue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues == nil {
		r.queues = make(map[uint16]*responder.Queue)
	}
	r.queues[q.Num()] = q
}

// overflows returns the overflow count of every queue opened, by number.
func (r *queueRegistry) overflows() map[uint16]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[uint16]uint64, len(r.queues))
	for num, q := range r.queues {
		m[num] = q.Overflows()
	}
	return m
}
