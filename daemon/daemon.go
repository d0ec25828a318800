package daemon

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/control"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
	"github.com/nfdhcpd/nfdhcpd/service"
)

// Options are what the command line gives the daemon.
type Options struct {
	ConfigPath string
	Version    string // reported in the log and the status
	Log        *slog.Logger
	// Signals delivers SIGHUP (reload) and SIGUSR1 (dump). The caller
	// registers them before calling Run: SIGHUP's default action would
	// kill a daemon that is still starting up.
	Signals <-chan os.Signal
}

// A daemon is the running process: the binding table, the responder and
// its queues, the periodic RA loop. Its fields are used by the main loop
// only.
type daemon struct {
	Options
	log     *slog.Logger
	cfg     *config.Config
	table   *binding.Table
	resp    *responder.Responder
	queues  *queueSet
	ra      *raLoop
	control *control.Server
	// openQueues and routingStats are read by the metrics endpoint.
	openQueues   control.QueueRegistry
	routingStats routing.Stats
}

// Run loads the configuration and serves until ctx is done, which ends it
// without error.
//
// It takes what is exclusive first — the pid file, the control socket and
// the metrics port, the queues — and touches kernel state (routing) only
// once it holds them all: a daemon refused because another one runs
// leaves nothing of its own behind.
func Run(ctx context.Context, opts Options) error {
	log := opts.Log
	cfg, err := config.Load(opts.ConfigPath, log)
	if err != nil {
		return err
	}
	log.Info("starting nfdhcpd", "version", opts.Version, "config", opts.ConfigPath, "datapath", cfg.General.DataPath)
	if cfg.General.PIDFile != "" {
		if err := service.WritePIDFile(cfg.General.PIDFile); err != nil {
			return err
		}
		defer func() {
			if err := service.RemovePIDFile(cfg.General.PIDFile); err != nil {
				log.Warn("removing pidfile failed", "error", err)
			}
		}()
	}
	// Read at start only: a reload does not move the socket or the
	// endpoint.
	srv, err := control.NewServer(cfg.General.ControlSocket, cfg.General.MetricsListen, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	sender, err := responder.NewSender()
	if err != nil {
		return err
	}
	defer sender.Close()
	table := binding.NewTable(cfg.General.DataPath, log)
	d := &daemon{
		Options: opts,
		log:     log,
		cfg:     cfg,
		table:   table,
		resp:    responder.New(table, sender, cfg.ResponderOptions(), log),
		control: srv,
	}
	d.queues = newQueueSet(log, d.openQueue, d.resp.Serve)
	if err := d.queues.Reserve(cfg.Queues()); err != nil {
		return err
	}
	defer d.queues.StopAll()
	return d.run(ctx)
}

func (d *daemon) openQueue(num uint16) (responder.Source, error) {
	q, err := responder.OpenQueue(num, d.log)
	if err != nil {
		return nil, err
	}
	d.openQueues.Add(q)
	return q, nil
}

// run starts the table, waits for its first snapshot (so that a bound
// VM's request is never accepted as unknown just because the daemon is
// starting), serves the queues and handles signals until ctx is done.
func (d *daemon) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.table.Run(gctx) })
	// The routing module gets its settings now: a reload replaces d.cfg
	// from the signal loop, and [routing] changes need a restart anyway.
	routingCfg := d.cfg.Routing
	g.Go(func() error { return d.runRouting(gctx, routingCfg) })
	g.Go(func() error {
		select {
		case <-d.table.Ready():
		case <-gctx.Done():
			return nil
		}
		d.log.Info("bindings loaded", "active", d.table.Snapshot().Len())
		if err := d.queues.Apply(gctx, d.cfg.Queues()); err != nil {
			return err
		}
		d.applyRA(gctx, d.cfg)
		g.Go(func() error { return d.control.Serve(gctx, d.controlSources(time.Now())) })
		// Last: what needs more than the kept capabilities (the pid file,
		// the control socket, the queues) is open by now.
		if user := d.cfg.General.User; user != "" {
			if err := service.DropPrivileges(user, d.log); err != nil {
				return err
			}
		}
		d.log.Info("ready to serve requests")
		return d.loop(gctx)
	})
	return g.Wait()
}

// loop handles signals until ctx is done, then stops the queues before
// the table, so that every packet taken gets its verdict from live
// bindings.
func (d *daemon) loop(ctx context.Context) error {
	defer d.stopRA()
	defer d.queues.StopAll()
	notify := service.Notifier{Log: d.log}
	watchdog, stopWatchdog := notify.Watchdog()
	defer stopWatchdog()
	notify.Ready()
	defer notify.Stopping()
	for {
		select {
		case <-ctx.Done():
			d.log.Info("shutting down")
			return nil
		case err := <-d.queues.Failed():
			return err
		case <-watchdog:
			notify.Ping()
		case s := <-d.Signals:
			switch s {
			case syscall.SIGHUP:
				notify.Reloading()
				d.reload(ctx)
				notify.Ready()
			case syscall.SIGUSR1:
				d.dump()
			}
		}
	}
}
