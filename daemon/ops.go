package daemon

import (
	"os"
	"time"

	"github.com/nfdhcpd/nfdhcpd/control"
)

// controlSources are what the status report and the metrics read.
func (d *daemon) controlSources(started time.Time) control.Sources {
	general, routingCfg := d.cfg.General, d.cfg.Routing
	src := control.Sources{
		Report: func() control.Report {
			r := control.NewReport(d.table.Status(), &d.resp.Stats)
			r.Version, r.PID, r.Started = d.Version, os.Getpid(), started
			r.Config, r.Datapath = d.ConfigPath, general.DataPath
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
