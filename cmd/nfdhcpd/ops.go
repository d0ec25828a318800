package main

import (
	"context"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nfdhcpd/nfdhcpd/control"
)

// startOps starts what operators use to watch the daemon, once its queues
// are open: the control socket (`nfdhcpd status`), the metrics endpoint
// when configured, and then the switch to the configured user. The servers
// run in g until ctx is done. These settings are read at start only: a
// reload does not move the socket or the endpoint.
func (d *daemon) startOps(ctx context.Context, g *errgroup.Group) error {
	general := d.cfg.General
	srv, err := control.NewServer(general.ControlSocket, general.MetricsListen, d.log)
	if err != nil {
		return err
	}
	g.Go(func() error { return srv.Serve(ctx, d.controlSources(time.Now())) })
	if general.User != "" {
		if err := dropPrivileges(general.User, d.log); err != nil {
			return err
		}
	}
	return nil
}

// controlSources are what the status report and the metrics read.
func (d *daemon) controlSources(started time.Time) control.Sources {
	general, routingCfg := d.cfg.General, d.cfg.Routing
	src := control.Sources{
		Report: func() control.Report {
			r := control.NewReport(d.table.Status(), &d.resp.Stats)
			r.Version, r.PID, r.Started = version(), os.Getpid(), started
			r.Config, r.Datapath = d.configPath, general.DataPath
			if routingCfg.Enable {
				r.Routing = control.NewRoutingReport(string(routingCfg.Role), &d.routingStats)
			}
			return r
		},
		Stats:        &d.resp.Stats,
		Queues:       d.openQueues.Overflows,
		KernelQueues: control.ProcNFQueue,
	}
	if routingCfg.Enable {
		src.Routing = d.routingStats.Snapshot
	}
	return src
}
