package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
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
		return r
	}
	if general.ControlSocket != "" {
		ln, err := listenControl(general.ControlSocket)
		if err != nil {
			return err
		}
		d.log.Info("control socket listening", "path", general.ControlSocket)
		g.Go(func() error { return serveHTTP(ctx, ln, opsHandler(report, true), d.log) })
	}
	if general.MetricsListen != "" {
		ln, err := net.Listen("tcp", general.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		d.log.Info("metrics endpoint listening", "address", ln.Addr().String())
		// Only counters over TCP: the binding list names VMs' addresses.
		g.Go(func() error { return serveHTTP(ctx, ln, opsHandler(report, false), d.log) })
	}
	if general.User != "" {
		if err := dropPrivileges(general.User, d.log); err != nil {
			return err
		}
	}
	return nil
}
