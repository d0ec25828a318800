package main

import (
	"context"
	"fmt"

	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// moduleConfig maps the [routing] section to the routing module's
// configuration, with table names resolved through the rt_tables files
// under tablesDir.
func (c *RoutingConfig) moduleConfig(tablesDir string) (routing.Config, error) {
	names, err := routing.ReadTableNames(tablesDir)
	if err != nil {
		return routing.Config{}, err
	}
	role, err := routing.ParseRole(string(c.Role))
	if err != nil {
		return routing.Config{}, fmt.Errorf("config: [routing] role: %w", err)
	}
	cfg := routing.Config{
		Role:      role,
		Table:     c.Table,
		Uplink:    c.Uplink,
		Uplink6:   c.Uplink6,
		Subnet:    c.Subnet,
		Gateway:   c.Gateway,
		ARPIP:     c.ARPIP,
		Subnet6:   c.Subnet6,
		Gateway6:  c.Gateway6,
		WAN:       c.WAN,
		Antispoof: c.Antispoof,
		Tables:    names,
	}
	cfg.BridgeGuard = c.BridgeGuard
	if err := cfg.Validate(); err != nil {
		return routing.Config{}, fmt.Errorf("config: [routing]: %w", err)
	}
	return cfg, nil
}

// runRouting converges the host's routing state with the binding table
// until ctx is done, when [routing] is enabled. It waits for the table's
// first complete snapshot: syncing an empty table would tear down the
// routes a previous run left for VMs that are still running. On the way
// out it leaves the state in place, so that a restart does not interrupt
// VM traffic.
func (d *daemon) runRouting(ctx context.Context, rc RoutingConfig) error {
	if !rc.Enable {
		return nil
	}
	cfg, err := rc.moduleConfig(routing.DefaultTablesDir)
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
