package main

import (
	"github.com/prometheus/client_golang/prometheus"
)

// activityMetrics are the event command's and DNS registration's counters
// at one scrape; nil pointers for what is off.
type activityMetrics struct {
	events *eventsReport
	dns    *struct {
		registered, pending, failing int
		updates, failures, removed   uint64
	}
}

// activityMetrics reads the activity listeners' counters.
func (d *daemon) activityMetrics() activityMetrics {
	var r statusReport
	var m activityMetrics
	if d.hook != nil || d.dns != nil {
		d.addListeners(&r)
	}
	m.events = r.Events
	if r.DNS != nil {
		m.dns = &struct {
			registered, pending, failing int
			updates, failures, removed   uint64
		}{r.DNS.Registered, r.DNS.Pending, r.DNS.Failing, r.DNS.Updates, r.DNS.Failures, r.DNS.Removed}
	}
	return m
}

// An activityCollector exports activityMetrics.
type activityCollector struct {
	read                             func() activityMetrics
	events, eventsQueued             *prometheus.Desc
	dnsNames, dnsUpdates, dnsRemoved *prometheus.Desc
}

func newActivityCollector(read func() activityMetrics) *activityCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("nfdhcpd_"+name, help, labels, nil)
	}
	return &activityCollector{
		read: read,
		events: d("events_total",
			"Activity events handed to the event command, by result (ok, failed, timeout, dropped when the queue was full).", "result"),
		eventsQueued: d("events_queued", "Activity events waiting for the event command."),
		dnsNames:     d("dns_names", "Bindings' DNS names by registration state (registered, pending, failing).", "state"),
		dnsUpdates:   d("dns_updates_total", "DNS registrations by result (ok: records published, failed: an update failed and is retried).", "result"),
		dnsRemoved:   d("dns_removed_total", "DNS names withdrawn because their binding went."),
	}
}

func (c *activityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.eventsQueued, c.dnsNames, c.dnsUpdates, c.dnsRemoved} {
		ch <- d
	}
}

func (c *activityCollector) Collect(ch chan<- prometheus.Metric) {
	if c.read == nil {
		return
	}
	m := c.read()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if e := m.events; e != nil {
		// ok counts runs that neither failed nor timed out; a timeout is
		// also a failure in Failed, so it is taken out of "failed".
		counter(c.events, e.Run-e.Failed, "ok")
		counter(c.events, e.Failed-e.TimedOut, "failed")
		counter(c.events, e.TimedOut, "timeout")
		counter(c.events, e.Dropped, "dropped")
		gauge(c.eventsQueued, float64(e.Queued))
	}
	if d := m.dns; d != nil {
		gauge(c.dnsNames, float64(d.registered), "registered")
		gauge(c.dnsNames, float64(d.pending), "pending")
		gauge(c.dnsNames, float64(d.failing), "failing")
		counter(c.dnsUpdates, d.updates, "ok")
		counter(c.dnsUpdates, d.failures, "failed")
		counter(c.dnsRemoved, d.removed)
	}
}
