package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/config"
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
	fs.StringVar(&f.config, "c", config.DefaultPath, "configuration `file`")
	fs.StringVar(&f.config, "config", config.DefaultPath, "configuration `file` (same as -c)")
	fs.BoolVar(&f.debug, "d", false, "log at debug level")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level (same as -d)")
	fs.BoolVar(&f.foreground, "f", false, "run in the foreground (always the case; accepted for compatibility)")
	fs.BoolVar(&f.foreground, "foreground", false, "same as -f")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	return fs, f
}

// parseDaemonFlags parses the daemon's command line. A bad one gets the
// help (the commands, then the flags) on stderr after the reason.
func parseDaemonFlags(args []string, stderr io.Writer) (*daemonFlags, error) {
	fs, f := newDaemonFlagSet(stderr)
	// -h and --help are answered by the caller, with the commands too.
	fs.Usage = func() {}
	if err := fs.Parse(expandShortFlags(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		runHelp(nil, stderr, stderr)
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (subcommands come first: nfdhcpd help): %w", fs.Arg(0), errUsage)
	}
	return f, nil
}

// expandShortFlags rewrites the optparse forms the original accepted and
// Go's flag package does not: grouped switches ("-df") and a value glued
// to -c ("-c/etc/nfdhcpd/nfdhcpd.conf", "-dc FILE"). Anything else,
// including Go's single-dash long names ("-config"), is left alone.
func expandShortFlags(args []string) []string {
	out := make([]string, 0, len(args))
	valueNext := false
	for i, a := range args {
		if valueNext {
			// The value of a separate -c is a file name, whatever it
			// looks like.
			out = append(out, a)
			valueNext = false
			continue
		}
		switch a {
		case "-c", "-config", "--config":
			valueNext = true
		}
		if a == "--" || !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			if a == "--" {
				return append(out, args[i:]...)
			}
			out = append(out, a)
			continue
		}
		if expanded, ok := splitShortGroup(a[1:]); ok {
			out = append(out, expanded...)
			valueNext = expanded[len(expanded)-1] == "-c"
			continue
		}
		out = append(out, a)
	}
	return out
}

// splitShortGroup splits "df" into "-d", "-f" and "dcFILE" into "-d",
// "-c", "FILE". It refuses a group that is a long flag name or holds a
// letter that is not one of the original's short options.
func splitShortGroup(g string) ([]string, bool) {
	if len(g) < 2 {
		return nil, false
	}
	for _, long := range []string{"config", "debug", "foreground", "version"} {
		if strings.HasPrefix(g, long) {
			return nil, false
		}
	}
	var out []string
	for i, c := range g {
		switch c {
		case 'd', 'f':
			out = append(out, "-"+string(c))
		case 'c':
			out = append(out, "-c")
			if rest := g[i+1:]; rest != "" {
				out = append(out, strings.TrimPrefix(rest, "="))
			}
			return out, true
		default:
			return nil, false
		}
	}
	return out, true
}
