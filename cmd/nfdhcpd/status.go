package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/control"
)

// runStatus implements `nfdhcpd status [-c FILE] [-socket PATH] [-json]`:
// it asks the running daemon, over its control socket, for the state of
// every binding and the packet counters.
func runStatus(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("status", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("c", config.DefaultPath, "configuration `file` naming the control socket")
	socket := flags.String("socket", "", "control socket `path` (default: [general] control_socket of the configuration)")
	asJSON := flags.Bool("json", false, "print the daemon's JSON answer as it is")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd status [-c FILE] [-socket PATH] [-json]\n\n"+
			"Shows the running daemon's bindings (active, pending with the missing\n"+
			"interface, invalid with the reason) and its packet counters.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("status: %w: %w", err, errUsage)
	}
	if flags.NArg() != 0 {
		return fmt.Errorf("status: unexpected argument %q: %w", flags.Arg(0), errUsage)
	}
	path := *socket
	if path == "" {
		var err error
		if path, err = configuredSocket(*configPath, flagGiven(flags, "c")); err != nil {
			return err
		}
	}
	body, err := control.Fetch(path)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var r control.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("status: the daemon's answer: %w", err)
	}
	return control.Print(stdout, r)
}

// configuredSocket returns the control socket of the configuration at path
// (the default one when the default configuration does not exist).
func configuredSocket(path string, explicit bool) (string, error) {
	cfg, err := config.Load(path, slog.New(slog.DiscardHandler))
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return config.DefaultControlSocket, nil
		}
		return "", err
	}
	if cfg.General.ControlSocket == "" {
		return "", errors.New("status: the configuration has no control_socket")
	}
	return cfg.General.ControlSocket, nil
}
