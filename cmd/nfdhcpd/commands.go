package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// A command is one subcommand of nfdhcpd. Running without a subcommand
// (only flags) starts the daemon, as the original did.
type command struct {
	name    string
	usage   string // arguments, for the help text
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands returns the subcommands. It is a function, not a package-level
// table, so that nothing is initialised before main runs.
func commands() []command {
	return []command{
		{name: "eui64", usage: "MAC PREFIX", summary: "print the EUI-64 address SLAAC gives MAC in PREFIX (mac2eui64)", run: runEUI64},
		{name: "rules", usage: "[-c FILE] [-format F] [-taps P]", summary: "print the packet filter rules that feed the configured queues", run: runRules},
		{name: "check", usage: "[-c FILE] [BINDING...]", summary: "validate the configuration and the binding files; non-zero exit with reasons", run: runCheck},
		{name: "bind", usage: "[-c FILE] TAP KEY=VALUE...", summary: "write TAP's binding file atomically (for ifup hooks)", run: runBind},
		{name: "unbind", usage: "[-c FILE] TAP...", summary: "remove TAPs' binding files (for ifdown hooks)", run: runUnbind},
		{name: "status", usage: "[-c FILE] [-socket PATH] [-json]", summary: "show the running daemon's bindings and counters", run: runStatus},
		{name: "version", summary: "print the version", run: runVersion},
		{name: "help", summary: "print this help", run: runHelp},
	}
}

// errUsage marks an error caused by the command line; it exits with 2.
var errUsage = errors.New("usage error")

// dispatch runs the command line args and returns the exit status: 0 on
// success, 1 when the command failed, 2 for a bad command line.
func dispatch(args []string, stdout, stderr io.Writer) int {
	var err error
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		err = runCommand(args[0], args[1:], stdout, stderr)
	} else {
		err = runDaemonCommand(args, stdout, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		// Help was asked for (COMMAND -h) and printed: a script that asks
		// for it sees success.
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "nfdhcpd: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "nfdhcpd: %v\n", err)
		return 1
	}
}

func runCommand(name string, args []string, stdout, stderr io.Writer) error {
	for _, c := range commands() {
		if c.name == name {
			return c.run(args, stdout, stderr)
		}
	}
	return fmt.Errorf("unknown command %q (try nfdhcpd help): %w", name, errUsage)
}

// runHelp prints the commands and the daemon's flags; `nfdhcpd -h` and
// `--help` print the same.
func runHelp(args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "Usage:\n")
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  nfdhcpd [-c FILE] [-d] [-f]\trun the daemon in the foreground\n")
	for _, c := range commands() {
		fmt.Fprintf(tw, "  nfdhcpd %s\t%s\n", strings.TrimSpace(c.name+" "+c.usage), c.summary)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nDaemon flags:\n")
	fs, _ := newDaemonFlagSet(stdout)
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	return nil
}
