package daemon

import (
	"context"
	"reflect"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/control"
)

// reload applies SIGHUP: it reads the configuration again and applies
// what can change in place — the responder's options, the queues (only
// those whose number changed are reopened), the periodic RAs — then
// rescans the binding directory. A configuration that does not load
// leaves everything as it was. Settings that need a restart are named in
// the log and keep their running value.
func (d *daemon) reload(ctx context.Context) {
	d.log.Info("reloading configuration", "config", d.ConfigPath)
	cfg, err := config.Load(d.ConfigPath, d.log)
	if err != nil {
		d.log.Error("reload failed, keeping the running configuration", "error", err)
		d.table.Rescan()
		return
	}
	old := d.cfg
	// The rate limit is the responder's, replaced with its options: an
	// operator facing a flood can change it without a restart.
	rateLimit := cfg.General.RateLimit
	cfg.General.RateLimit = old.General.RateLimit
	if cfg.General != old.General {
		d.log.Warn("config: [general] changes need a restart; keeping the running values")
		cfg.General = old.General
	}
	cfg.General.RateLimit = rateLimit
	if !reflect.DeepEqual(cfg.Routing, old.Routing) {
		d.log.Warn("config: [routing] changes need a restart; keeping the running values")
		cfg.Routing = old.Routing
	}
	d.resp.SetOptions(cfg.ResponderOptions())
	if err := d.queues.Apply(ctx, cfg.Queues()); err != nil {
		d.log.Error("reopening queues failed, keeping the running ones", "error", err)
		cfg.DHCP.Queue, cfg.DHCP.Enable = old.DHCP.Queue, old.DHCP.Enable
		cfg.IPv6.RSQueue, cfg.IPv6.NSQueue, cfg.IPv6.DHCPv6Queue = old.IPv6.RSQueue, old.IPv6.NSQueue, old.IPv6.DHCPv6Queue
	}
	d.applyRA(ctx, cfg)
	d.cfg = cfg
	d.table.Rescan()
	d.log.Info("configuration reloaded")
}

// dump writes every binding file's state and the packet counters to the
// log, as the original did on SIGUSR1.
func (d *daemon) dump() {
	statuses := d.table.Status()
	d.log.Info("binding table", "files", len(statuses), "active", d.table.Snapshot().Len())
	for _, s := range statuses {
		attrs := []any{"TAP", s.Name, "state", s.State.String(), "file", s.File}
		if s.TapIndex != 0 {
			attrs = append(attrs, "ifindex", s.TapIndex)
		}
		if b := s.Binding; b != nil {
			attrs = append(attrs, bindingAttrs(b)...)
		}
		if s.Reason != "" {
			attrs = append(attrs, "reason", s.Reason)
		}
		d.log.Info("binding", attrs...)
	}
	for _, q := range d.cfg.Queues() {
		attrs := []any{"QUEUE", q.Num, "kind", q.Kind.String()}
		for _, o := range control.Outcomes() {
			attrs = append(attrs, o.String(), d.resp.Stats.Get(q.Kind, o))
		}
		d.log.Info("queue counters", attrs...)
	}
}

// bindingAttrs returns the log attributes of the set fields of b.
func bindingAttrs(b *binding.Binding) []any {
	var attrs []any
	add := func(key string, set bool, v any) {
		if set {
			attrs = append(attrs, key, v)
		}
	}
	add("INDEV", b.Indev != "" && b.Indev != b.Name, b.Indev)
	add("MAC", b.MAC != nil, b.MAC.String())
	add("IP", b.IP.IsValid(), b.IP.String())
	add("HOSTNAME", b.Hostname != "", b.Hostname)
	add("SUBNET", b.Subnet.IsValid(), b.Subnet.String())
	add("GATEWAY", b.Gateway.IsValid(), b.Gateway.String())
	add("SUBNET6", b.Subnet6.IsValid(), b.Subnet6.String())
	add("GATEWAY6", b.Gateway6.IsValid(), b.Gateway6.String())
	add("EUI64", b.EUI64.IsValid(), b.EUI64.String())
	add("PRIVATE", b.Private, true)
	add("MACSPOOF", b.MACSpoof, true)
	add("MTU", b.MTU != 0, b.MTU)
	return attrs
}
