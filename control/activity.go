package control

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
)

// An EventsReport is the event command's counters (issue 15).
type EventsReport struct {
	Command  string `json:"command"`
	Run      uint64 `json:"run"`
	Failed   uint64 `json:"failed"` // timeouts included
	TimedOut uint64 `json:"timed_out"`
	Dropped  uint64 `json:"dropped"`
	Queued   int    `json:"queued"`
}

// Listeners is the state of what listens to the VMs' activity: nil
// pointers for what is off.
type Listeners struct {
	Events *EventsReport
	DNS    *dnsreg.Report
}

// An activityCollector exports the listeners' counters.
type activityCollector struct {
	read                             func() Listeners
	events, eventsQueued             *prometheus.Desc
	dnsNames, dnsUpdates, dnsRemoved *prometheus.Desc
}

func newActivityCollector(read func() Listeners) *activityCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("nfdhcpd_"+name, help, labels, nil)
	}
	return &activityCollector{
		read: read,
		events: d("events_total",
			"Activity events handed to the event command, by result (ok, failed, timeout, dropped when the queue was full).", "result"),
		eventsQueued: d("events_queued", "Activity events waiting for the event command."),
		dnsNames:     d("dns_names", "Bindings' DNS names by registration state (registered, pending, failing).", "state"),
		dnsUpdates:   d("dns_updates_total", "DNS registrations by result (ok: records published; failed: an update failed and is retried).", "result"),
		dnsRemoved:   d("dns_removed_total", "DNS names withdrawn because their binding went."),
	}
}

// Describe sends every metric's description.
func (c *activityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.eventsQueued, c.dnsNames, c.dnsUpdates, c.dnsRemoved} {
		ch <- d
	}
}

// Collect reads the listeners' counters and sends them as metrics.
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
	if e := m.Events; e != nil {
		// Failed counts timeouts too; each run is counted once here.
		counter(c.events, e.Run-e.Failed, "ok")
		counter(c.events, e.Failed-e.TimedOut, "failed")
		counter(c.events, e.TimedOut, "timeout")
		counter(c.events, e.Dropped, "dropped")
		gauge(c.eventsQueued, float64(e.Queued))
	}
	if d := m.DNS; d != nil {
		gauge(c.dnsNames, float64(d.Registered), "registered")
		gauge(c.dnsNames, float64(d.Pending), "pending")
		gauge(c.dnsNames, float64(d.Failing), "failing")
		counter(c.dnsUpdates, d.Updates, "ok")
		counter(c.dnsUpdates, d.Failures, "failed")
		counter(c.dnsRemoved, d.Removed)
	}
}
