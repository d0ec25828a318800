package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// daemonFlags are the command line of the daemon itself: the original's
// -c/--config, -d/--debug and -f/--foreground, plus --version.
type daemonFlags struct {
	config     string
	debug      bool
	foreground bool // accepted for compatibility: the daemon never forks
	version    bool
}

// newDaemonFlagSet returns the flag set of the daemon and the values it
// fills. Go's flag package takes both -config and --config, so each long
// name of the original works as it did.
func newDaemonFlagSet(stderr io.Writer) (*flag.FlagSet, *daemonFlags) {
	f := &daemonFlags{}
	fs := flag.NewFlagSet("nfdhcpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "c", DefaultConfigPath, "configuration `file`")
	fs.StringVar(&f.config, "config", DefaultConfigPath, "configuration `file` (same as -c)")
	fs.BoolVar(&f.debug, "d", false, "log at debug level")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level (same as -d)")
	fs.BoolVar(&f.foreground, "f", false, "run in the foreground (always the case; accepted for compatibility)")
	fs.BoolVar(&f.foreground, "foreground", false, "same as -f")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	return fs, f
}

func parseDaemonFlags(args []string, stderr io.Writer) (*daemonFlags, error) {
	fs, f := newDaemonFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (subcommands come first: nfdhcpd help): %w", fs.Arg(0), errUsage)
	}
	return f, nil
}
