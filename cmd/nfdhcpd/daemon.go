package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
	"github.com/nfdhcpd/nfdhcpd/activity/hook"
	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// runDaemonCommand parses the daemon's flags and runs it in the
// foreground until SIGTERM or SIGINT, which end it with status 0.
func runDaemonCommand(args []string, stdout, stderr io.Writer) error {
	f, err := parseDaemonFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if f.version {
		return runVersion(nil, stdout, stderr)
	}
	log := newDaemonLogger(stderr, f.debug)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return runDaemon(ctx, f.config, log)
}

// A daemon is the running process: the binding table, the responder and
// its queues, the periodic RA loop. Its fields are used by the main loop
// only.
type daemon struct {
	log        *slog.Logger
	configPath string
	cfg        *Config
	table      *binding.Table
	resp       *responder.Responder
	queues     *queueSet
	ra         *raLoop
	// openQueues and routingStats are read by the metrics endpoint.
	openQueues   queueRegistry
	routingStats routing.Stats
	// hook and dns are the activity listeners (activity.go); nil when off.
	hook *hook.Runner
	dns  *dnsreg.Registrar
}

// runDaemon loads the configuration and serves until ctx is done.
func runDaemon(ctx context.Context, configPath string, log *slog.Logger) error {
	cfg, err := LoadConfig(configPath, log)
	if err != nil {
		return err
	}
	// Registered before anything starts: SIGHUP's default action would
	// kill a daemon that is still starting up.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	if cfg.General.PIDFile != "" {
		if err := writePIDFile(cfg.General.PIDFile); err != nil {
			return err
		}
		defer func() {
			if err := removePIDFile(cfg.General.PIDFile); err != nil {
				log.Warn("removing pidfile failed", "error", err)
			}
		}()
	}
	sender, err := responder.NewSender()
	if err != nil {
		return err
	}
	defer sender.Close()
	table := binding.NewTable(cfg.General.DataPath, log)
	d := &daemon{
		log:        log,
		configPath: configPath,
		cfg:        cfg,
		table:      table,
		resp:       responder.New(table, sender, cfg.ResponderOptions(), log),
	}
	d.queues = newQueueSet(log, d.openQueue, d.resp.Serve)
	log.Info("starting nfdhcpd", "version", version(), "config", configPath, "datapath", cfg.General.DataPath)
	return d.run(ctx, sigs)
}

func (d *daemon) openQueue(num uint16) (responder.Source, error) {
	q, err := responder.OpenQueue(num, d.log)
	if err != nil {
		return nil, err
	}
	d.openQueues.add(q)
	return q, nil
}

// run starts the table, waits for its first snapshot (so that a bound
// VM's request is never accepted as unknown just because the daemon is
// starting), opens the queues and handles signals until ctx is done.
func (d *daemon) run(ctx context.Context, sigs <-chan os.Signal) error {
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
		if err := d.startActivity(gctx, g); err != nil {
			return err
		}
		if err := d.queues.Apply(gctx, d.cfg.Queues()); err != nil {
			return err
		}
		d.applyRA(gctx, d.cfg)
		if err := d.startOps(gctx, g); err != nil {
			return err
		}
		d.log.Info("ready to serve requests")
		return d.loop(gctx, sigs)
	})
	return g.Wait()
}

// loop handles signals until ctx is done, then stops the queues before
// the table, so that every packet taken gets its verdict from live
// bindings.
func (d *daemon) loop(ctx context.Context, sigs <-chan os.Signal) error {
	defer d.stopRA()
	defer d.queues.StopAll()
	notify := notifier{log: d.log}
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
		case s := <-sigs:
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

// An raLoop is the running periodic Router Advertisement loop.
type raLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// applyRA starts or stops the periodic RAs: they run when IPv6 is on and
// ra_period is not 0.
func (d *daemon) applyRA(ctx context.Context, cfg *Config) {
	want := cfg.IPv6.Enable && cfg.IPv6.RAPeriod > 0
	if want == (d.ra != nil) {
		return
	}
	if !want {
		d.stopRA()
		d.log.Info("periodic router advertisements stopped")
		return
	}
	changes, unsubscribe := d.table.Subscribe()
	rctx, cancel := context.WithCancel(ctx)
	ra := &raLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ra.done)
		defer unsubscribe()
		if err := d.resp.RunPeriodicRA(rctx, changes); err != nil {
			d.log.Error("periodic router advertisements stopped", "error", err)
		}
	}()
	d.ra = ra
	d.log.Info("periodic router advertisements started", "period", cfg.IPv6.RAPeriod.String())
}

func (d *daemon) stopRA() {
	if d.ra == nil {
		return
	}
	d.ra.cancel()
	<-d.ra.done
	d.ra = nil
}
