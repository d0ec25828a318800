package daemon

import (
	"context"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// runRouting converges the host's routing state with the binding table
// until ctx is done, when [routing] is enabled. It waits for the table's
// first complete snapshot: syncing an empty table would tear down the
// routes a previous run left for VMs that are still running. On the way
// out it leaves the state in place, so that a restart does not interrupt
// VM traffic.
func (d *daemon) runRouting(ctx context.Context, rc config.Routing) error {
	if !rc.Enable {
		return nil
	}
	cfg, err := rc.ModuleConfig(routing.DefaultTablesDir)
	if err != nil {
		return err
	}
	kernel, err := routing.NewNetlink()
	if err != nil {
		return err
	}
	defer kernel.Close()
	sender, err := responder.NewSender()
	if err != nil {
		return err
	}
	defer sender.Close()
	changes, unsubscribe := d.table.Subscribe()
	defer unsubscribe()
	select {
	case <-d.table.Ready():
	case <-ctx.Done():
		return nil
	}
	r := routing.NewReconciler(cfg, kernel, routing.Options{Sender: sender, Logger: d.log, Stats: &d.routingStats})
	d.log.Info("routing module started", "role", string(cfg.Role), "table", cfg.Table, "uplink", cfg.Uplink)
	return r.Run(ctx, changes, d.table.Snapshot)
}
