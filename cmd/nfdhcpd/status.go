package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// runStatus implements `nfdhcpd status [-c FILE] [-socket PATH] [-json]`:
// it asks the running daemon, over its control socket, for the state of
// every binding and the packet counters.
func runStatus(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("status", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("c", DefaultConfigPath, "configuration `file` naming the control socket")
	socket := flags.String("socket", "", "control socket `path` (default: [general] control_socket of the configuration)")
	asJSON := flags.Bool("json", false, "print the daemon's JSON answer as it is")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd status [-c FILE] [-socket PATH] [-json] [TAP]\n\n"+
			"Shows the running daemon's bindings (active, pending with the missing\n"+
			"interface, invalid with the reason), what their VMs did, and its packet\n"+
			"counters; with TAP, everything known of that one VM.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("status: %w: %w", err, errUsage)
	}
	if flags.NArg() > 1 {
		return fmt.Errorf("status: unexpected argument %q: %w", flags.Arg(1), errUsage)
	}
	tap := flags.Arg(0) // one VM in full (status_activity.go)
	path := *socket
	if path == "" {
		var err error
		if path, err = configuredSocket(*configPath, flagGiven(flags, "c")); err != nil {
			return err
		}
	}
	body, err := fetchStatus(path)
	if err != nil {
		return err
	}
	if *asJSON && tap == "" {
		_, err := stdout.Write(body)
		return err
	}
	var r statusReport
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("status: the daemon's answer: %w", err)
	}
	if tap != "" {
		return printOneVM(stdout, r, tap, *asJSON)
	}
	return printStatus(stdout, r)
}

// configuredSocket returns the control socket of the configuration at path
// (the default one when the default configuration does not exist).
func configuredSocket(path string, explicit bool) (string, error) {
	cfg, err := LoadConfig(path, slog.New(slog.DiscardHandler))
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return DefaultControlSocket, nil
		}
		return "", err
	}
	if cfg.General.ControlSocket == "" {
		return "", errors.New("status: the configuration has no control_socket")
	}
	return cfg.General.ControlSocket, nil
}

// fetchStatus asks the daemon at the control socket for its status.
func fetchStatus(socket string) ([]byte, error) {
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	resp, err := client.Get("http://nfdhcpd/status")
	if err != nil {
		return nil, fmt.Errorf("status: is nfdhcpd running? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status: the daemon answered %s", resp.Status)
	}
	return body, nil
}

// printStatus writes the report as tables for a terminal.
func printStatus(w io.Writer, r statusReport) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "nfdhcpd %s, pid %d, up %s\n", r.Version, r.PID, time.Since(r.Started).Round(time.Second))
	fmt.Fprintf(tw, "config %s, datapath %s\n", r.Config, r.Datapath)
	var states []string
	for _, s := range bindingStates() {
		states = append(states, fmt.Sprintf("%d %s", r.BindingsN[s.String()], s))
	}
	fmt.Fprintf(tw, "bindings: %s\n", strings.Join(states, ", "))
	if r.Routing != nil {
		fmt.Fprintf(tw, "routing: %s\n", routingLine(*r.Routing, time.Now()))
	}
	fmt.Fprintln(tw)

	fmt.Fprintln(tw, "TAP\tSTATE\tINDEV\tMAC\tIP\tIPV6\tHOSTNAME\tREASON")
	for _, b := range r.Bindings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			b.Name, b.State, dash(b.Indev), dash(b.MAC), dash(b.IP), dash(b.IP6), dash(b.Hostname), b.Reason)
	}
	printActivityTable(tw, r)

	fmt.Fprintln(tw)
	header := []string{"QUEUE"}
	for _, o := range outcomes() {
		header = append(header, strings.ToUpper(o.String()))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	rows := map[string][]string{}
	var order []string
	for _, c := range r.Counters {
		if _, ok := rows[c.Queue]; !ok {
			order = append(order, c.Queue)
		}
		rows[c.Queue] = append(rows[c.Queue], fmt.Sprint(c.Packets))
	}
	for _, q := range order {
		fmt.Fprintf(tw, "%s\t%s\n", q, strings.Join(rows[q], "\t"))
	}
	return tw.Flush()
}

// routingLine sums up the routing module on one line: role, passes,
// kernel changes, and how long ago the latest pass ended and how.
func routingLine(r routingReport, now time.Time) string {
	line := fmt.Sprintf("role %s, %d passes (%d full, %d failed), %d kernel changes made, %d refused",
		r.Role, r.Syncs, r.FullSyncs, r.SyncErrors, r.OpsApplied, r.OpsFailed)
	switch {
	case r.LastSync.IsZero():
		return line + ", no pass yet"
	case r.LastError != "":
		// A failed pass joins one error per refused change: the first
		// says what is wrong, the daemon's log has the others.
		first, _, more := strings.Cut(r.LastError, "\n")
		if more {
			first += " (and more, see the log)"
		}
		return fmt.Sprintf("%s, latest pass %s ago failed: %s", line, now.Sub(r.LastSync).Round(time.Second), first)
	default:
		return fmt.Sprintf("%s, latest pass %s ago", line, now.Sub(r.LastSync).Round(time.Second))
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
