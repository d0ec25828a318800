package control

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// Fetch asks the daemon serving the control socket at socket for its
// status, the JSON of a Report.
func Fetch(socket string) ([]byte, error) {
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

// Print writes the report as tables for a terminal, as `nfdhcpd status`
// shows it.
func Print(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "nfdhcpd %s, pid %d, up %s\n", r.Version, r.PID, time.Since(r.Started).Round(time.Second))
	fmt.Fprintf(tw, "config %s, datapath %s\n", r.Config, r.Datapath)
	var states []string
	for _, s := range BindingStates() {
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

	fmt.Fprintln(tw)
	header := []string{"QUEUE"}
	for _, o := range Outcomes() {
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
func routingLine(r RoutingReport, now time.Time) string {
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
