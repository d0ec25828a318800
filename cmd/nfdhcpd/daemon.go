package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nfdhcpd/nfdhcpd/daemon"
	"github.com/nfdhcpd/nfdhcpd/service"
)

// runDaemonCommand parses the daemon's flags and runs it in the
// foreground until SIGTERM or SIGINT, which end it with status 0.
func runDaemonCommand(args []string, stdout, stderr io.Writer) error {
	f, err := parseDaemonFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return runHelp(nil, stdout, stderr)
	}
	if err != nil {
		return err
	}
	if f.version {
		return runVersion(nil, stdout, stderr)
	}
	log := service.NewLogger(stderr, f.debug)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Registered before anything starts: SIGHUP's default action would
	// kill a daemon that is still starting up.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	return daemon.Run(ctx, daemon.Options{ConfigPath: f.config, Version: version(), Log: log, Signals: sigs})
}
