package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// writeMetrics writes the report in the Prometheus text exposition format
// (version 0.0.4). It is written by hand rather than with client_golang:
// the daemon exports a handful of counters it already keeps, and this
// keeps the dependency tree small.
func writeMetrics(w io.Writer, r statusReport) error {
	b := bufio.NewWriter(w)
	family := func(name, typ, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}

	family("nfdhcpd_build_info", "gauge", "Version of the running daemon; the value is always 1.")
	fmt.Fprintf(b, "nfdhcpd_build_info{version=%s} 1\n", labelValue(r.Version))

	family("nfdhcpd_start_time_seconds", "gauge", "Start time of the daemon since the Unix epoch, in seconds.")
	fmt.Fprintf(b, "nfdhcpd_start_time_seconds %d\n", r.Started.Unix())

	family("nfdhcpd_packets_total", "counter",
		"Packets taken from the queues, by queue and outcome (answered, nak, ignored, spoofed, malformed, unknown_tap, error, ratelimited).")
	for _, c := range r.Counters {
		fmt.Fprintf(b, "nfdhcpd_packets_total{queue=%s,outcome=%s} %d\n", labelValue(c.Queue), labelValue(c.Outcome), c.Packets)
	}

	family("nfdhcpd_bindings", "gauge", "Binding files by state (active, pending, invalid).")
	for _, s := range bindingStates() {
		fmt.Fprintf(b, "nfdhcpd_bindings{state=%s} %d\n", labelValue(s.String()), r.BindingsN[s.String()])
	}
	return b.Flush()
}

// labelValue quotes s as a label value: backslash, double quote and line
// feed are escaped.
func labelValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
