package daemon

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
	"github.com/nfdhcpd/nfdhcpd/activity/hook"
	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/control"
)

// startActivity wires what listens to the VMs' activity (issue 15): the
// binding watcher, the event command and DNS registration. It runs once
// the table is loaded, so that the bindings present at start raise no
// events. These settings are read at start only.
func (d *daemon) startActivity(ctx context.Context, g *errgroup.Group) error {
	var sinks []activity.Sink
	if ev := d.cfg.General.Events; ev.Command != "" {
		d.hook = hook.New(hook.Config{Command: ev.Command, Timeout: ev.Timeout, Queue: ev.Queue}, d.log)
		g.Go(func() error { d.hook.Run(ctx); return nil })
		sinks = append(sinks, d.hook.Emit)
		d.log.Info("event command enabled", "command", ev.Command, "timeout", ev.Timeout.String(), "queue", ev.Queue)
	}
	var onChange func([]binding.Status)
	if c := d.cfg.DNS; c.Enable {
		book := d.resp.Activity()
		reg, err := dnsreg.New(dnsreg.Config{
			Server: c.Server, Zone: c.Zone, ReverseZones: append([]string(nil), c.ReverseZones...), TTL: c.TTL,
			Key: c.Key, Owner: c.Owner, RegisterSeen: c.RegisterSeen, Seen: book.InUse6,
		}, d.log)
		if err != nil {
			return err
		}
		d.dns = reg
		g.Go(func() error { reg.Run(ctx); return nil })
		sinks = append(sinks, reg.Emit)
		onChange = reg.SetBindings
		d.log.Info("DNS registration enabled", "server", c.Server, "zone", c.Zone, "key", c.Key.Name)
	}
	sink := activity.Fanout(sinks...)
	d.resp.Activity().SetSink(sink)
	g.Go(func() error {
		activity.WatchBindings(ctx, d.table, d.resp.Activity(), sink, onChange)
		return nil
	})
	return nil
}

// addActivity adds each binding's activity and DNS registration, and the
// listeners' state, to a status report of the control socket.
func (d *daemon) addActivity(r *control.Report) {
	book := d.resp.Activity()
	for i := range r.Bindings {
		b := &r.Bindings[i]
		if v, ok := book.View(b.Name); ok {
			b.Activity = &v
		}
		if d.dns != nil {
			if n, ok := d.dns.Name(b.Name); ok {
				b.DNS = &n
			}
		}
	}
	l := d.listeners()
	r.Events, r.DNS = l.Events, l.DNS
}

// listeners returns the event command's counters and the DNS
// registration's state.
func (d *daemon) listeners() control.Listeners {
	var l control.Listeners
	if d.hook != nil {
		s := &d.hook.Stats
		l.Events = &control.EventsReport{
			// From the runner, not d.cfg, which a reload replaces.
			Command: d.hook.Command(),
			Run:     s.Run.Load(), Failed: s.Failed.Load(), TimedOut: s.TimedOut.Load(), Dropped: s.Dropped.Load(),
			Queued: d.hook.Queued(),
		}
	}
	if d.dns != nil {
		rep := d.dns.Status()
		l.DNS = &rep
	}
	return l
}
