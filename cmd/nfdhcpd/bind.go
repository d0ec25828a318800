package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/config"
)

// runBind implements `nfdhcpd bind [-c FILE] TAP KEY=VALUE...`, what a
// hypervisor's ifup hook calls: it validates the binding and writes it
// atomically into the data directory of the configuration, where the
// running daemon picks it up.
func runBind(args []string, stdout, stderr io.Writer) error {
	flags := hookFlags("bind", "TAP KEY=VALUE...", stderr,
		"Writes the binding file of TAP into the data directory, atomically and only\n"+
			"when it is valid (see `nfdhcpd check`). Keys are those of a binding file\n"+
			"(INDEV, MAC, IP, HOSTNAME, SUBNET, GATEWAY, SUBNET6, GATEWAY6, EUI64, PRIVATE,\n"+
			"MACSPOOF, MTU, TAGS, TABLE, UPLINK, UPLINK6; and the profile: NAMESERVERS,\n"+
			"NAMESERVERS6, DOMAIN, SEARCH, NTP, NTP6, ROUTES, LEASE_TIME, RENEWAL_TIME,\n"+
			"IPV6_MODE, NEXT_SERVER, TFTP_SERVER, BOOTFILE, BOOTFILE_EFI, BOOTFILE_IPXE,\n"+
			"BOOTFILE_URL6, IPV6_ONLY, DHCP_OPTIONS). An empty value leaves the key out,\n"+
			"except for a profile key, where it unsets the configuration's default.")
	configPath := flags.String("c", config.DefaultPath, "configuration `file` naming the data directory")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("bind: %w: %w", err, errUsage)
	}
	if flags.NArg() < 1 {
		flags.Usage()
		return fmt.Errorf("bind: missing TAP: %w", errUsage)
	}
	tap := flags.Arg(0)
	values, err := parseAssignments(flags.Args()[1:])
	if err != nil {
		return err
	}
	dir, err := hookDatapath(*configPath, flagGiven(flags, "c"))
	if err != nil {
		return err
	}
	if err := binding.WriteFile(dir, tap, values); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

// runUnbind implements `nfdhcpd unbind [-c FILE] TAP...`, what an ifdown
// hook calls: it removes the binding files of the TAPs. A TAP without one is
// not an error, so that a hook may run twice.
func runUnbind(args []string, stdout, stderr io.Writer) error {
	flags := hookFlags("unbind", "TAP...", stderr,
		"Removes the binding files of the TAPs from the data directory.")
	configPath := flags.String("c", config.DefaultPath, "configuration `file` naming the data directory")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("unbind: %w: %w", err, errUsage)
	}
	if flags.NArg() < 1 {
		flags.Usage()
		return fmt.Errorf("unbind: missing TAP: %w", errUsage)
	}
	dir, err := hookDatapath(*configPath, flagGiven(flags, "c"))
	if err != nil {
		return err
	}
	for _, tap := range flags.Args() {
		if err := binding.RemoveFile(dir, tap); err != nil {
			return fmt.Errorf("unbind: %w", err)
		}
	}
	return nil
}

func hookFlags(name, operands string, stderr io.Writer, help string) *flag.FlagSet {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd %s [-c FILE] %s\n\n%s\n\n", name, operands, help)
		flags.PrintDefaults()
	}
	return flags
}

// flagGiven reports whether the flag called name was on the command line.
func flagGiven(flags *flag.FlagSet, name string) bool {
	given := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

// parseAssignments turns KEY=VALUE operands into binding values. A key
// given twice is refused: a hook that does so has a bug worth seeing.
func parseAssignments(args []string) (map[string]string, error) {
	values := make(map[string]string, len(args))
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("bind: %q is not KEY=VALUE: %w", a, errUsage)
		}
		if _, dup := values[key]; dup {
			return nil, fmt.Errorf("bind: %s given twice", key)
		}
		values[key] = value
	}
	return values, nil
}

// hookDatapath returns the data directory of the configuration at path. A
// missing configuration at the default path is not an error, so hooks work
// on a host that runs with the defaults: the default data directory is used.
func hookDatapath(path string, explicit bool) (string, error) {
	cfg, err := config.Load(path, slog.New(slog.DiscardHandler))
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			cfg, err = config.Parse(nil, slog.New(slog.DiscardHandler))
		}
		if err != nil {
			return "", err
		}
	}
	dir := cfg.General.DataPath
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("config: [general] datapath: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("config: [general] datapath: %s is not a directory", dir)
	}
	return dir, nil
}
