package control

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// Sources is everything the status report and the metrics read, at
// request and scrape time only: the hot paths keep their own atomic counters and never touch the
// Prometheus library.
type Sources struct {
	// Report gives the bindings by state, the packet counters, the version
	// and the start time.
	Report func() Report
	// Stats are the responder's counters (message types, latency).
	Stats *responder.Stats
	// Queues gives the open queues' socket overflow counts by number.
	Queues func() map[uint16]uint64
	// Routing gives the routing module's counters; nil when it is off.
	Routing func() routing.StatsSnapshot
	// KernelQueues is the kernel's NFQUEUE table,
	// /proc/net/netfilter/nfnetlink_queue outside tests.
	KernelQueues string
}

// NewMetricsHandler returns the /metrics handler: a registry of its own
// (never the library's global one) holding the daemon's collector and the
// standard Go runtime and process collectors.
func NewMetricsHandler(src Sources, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newDaemonCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// A daemonCollector turns the daemon's counters into metrics at each
// scrape.
type daemonCollector struct {
	src Sources

	buildInfo, startTime, packets, bindings        *prometheus.Desc
	requests, replies, latency                     *prometheus.Desc
	overflows, kernelDropped, kernelUserDrops      *prometheus.Desc
	kernelWaiting                                  *prometheus.Desc
	routingSyncs, routingFull, routingErrors       *prometheus.Desc
	routingOps, routingLastSync, routingLastFailed *prometheus.Desc
}

func newDaemonCollector(src Sources) *daemonCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("nfdhcpd_"+name, help, labels, nil)
	}
	return &daemonCollector{
		src:       src,
		buildInfo: d("build_info", "Version of the running daemon; the value is always 1.", "version"),
		startTime: d("start_time_seconds", "Start time of the daemon since the Unix epoch, in seconds."),
		packets: d("packets_total",
			"Packets taken from the queues, by queue and outcome (answered, nak, ignored, spoofed, malformed, unknown_tap, error, ratelimited).",
			"queue", "outcome"),
		bindings: d("bindings", "Binding files by state (active, pending, invalid).", "state"),
		requests: d("requests_total", "Requests from bound TAPs decoded, by queue and message type.", "queue", "message_type"),
		replies:  d("replies_total", "Replies sent, by the queue of the request and the reply's message type.", "queue", "message_type"),
		latency: d("verdict_latency_seconds",
			"Time from the handler receiving a queued packet to its verdict being decided (reply sent included), by queue.", "queue"),
		overflows: d("queue_socket_overflows_total",
			"Times the kernel reported that a queue's socket overflowed (ENOBUFS), by queue number.", "queue_num"),
		kernelDropped: d("kernel_queue_dropped_total",
			"Packets the kernel dropped because the queue was full, by queue number (fail-open queues accept them instead).", "queue_num"),
		kernelUserDrops: d("kernel_queue_user_dropped_total",
			"Packets the kernel could not hand to the daemon's socket, by queue number (fail-open queues accept them instead).", "queue_num"),
		kernelWaiting: d("kernel_queue_waiting", "Packets waiting in the kernel for a verdict, by queue number.", "queue_num"),
		routingSyncs:  d("routing_syncs_total", "Routing reconcile passes."),
		routingFull:   d("routing_full_syncs_total", "Routing reconcile passes that re-read the kernel's state."),
		routingErrors: d("routing_sync_errors_total", "Routing reconcile passes that failed (they are retried as full syncs)."),
		routingOps:    d("routing_ops_total", "Kernel changes made by the routing module, by result (applied, failed).", "result"),
		routingLastSync: d("routing_last_sync_timestamp_seconds",
			"End of the routing module's latest reconcile pass since the Unix epoch, in seconds (absent before the first)."),
		routingLastFailed: d("routing_last_sync_failed", "1 when the routing module's latest reconcile pass failed, else 0."),
	}
}

// Describe sends every metric's description.
func (c *daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.buildInfo, c.startTime, c.packets, c.bindings, c.requests, c.replies, c.latency,
		c.overflows, c.kernelDropped, c.kernelUserDrops, c.kernelWaiting,
		c.routingSyncs, c.routingFull, c.routingErrors, c.routingOps, c.routingLastSync, c.routingLastFailed,
	} {
		ch <- d
	}
}

// Collect reads the counters and sends them as metrics.
func (c *daemonCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	r := c.src.Report()
	gauge(c.buildInfo, 1, r.Version)
	gauge(c.startTime, float64(r.Started.Unix()))
	for _, p := range r.Counters {
		counter(c.packets, p.Packets, p.Queue, p.Outcome)
	}
	for _, s := range BindingStates() {
		gauge(c.bindings, float64(r.BindingsN[s.String()]), s.String())
	}

	for _, k := range QueueKinds() {
		c.collectMessages(ch, k)
		lat := c.src.Stats.Latency(k)
		ch <- prometheus.MustNewConstHistogram(c.latency, lat.Count, lat.Sum.Seconds(), cumulativeBuckets(lat), k.String())
	}

	overflows := c.src.Queues()
	for num, n := range overflows {
		counter(c.overflows, n, strconv.Itoa(int(num)))
	}
	c.collectKernelQueues(ch, overflows)

	if c.src.Routing != nil {
		s := c.src.Routing()
		counter(c.routingSyncs, s.Syncs)
		counter(c.routingFull, s.FullSyncs)
		counter(c.routingErrors, s.SyncErrors)
		counter(c.routingOps, s.OpsApplied, "applied")
		counter(c.routingOps, s.OpsFailed, "failed")
	}
	// An alert on "routing has not converged" needs the latest pass's
	// time and result, not only the counters.
	if rr := r.Routing; rr != nil && !rr.LastSync.IsZero() {
		gauge(c.routingLastSync, float64(rr.LastSync.UnixNano())/1e9)
		failed := 0.0
		if rr.LastError != "" {
			failed = 1
		}
		gauge(c.routingLastFailed, failed)
	}
}

// collectMessages sends the request and reply counters of kind k: every
// type the queue knows, even at zero, and any other type seen.
func (c *daemonCollector) collectMessages(ch chan<- prometheus.Metric, k responder.Kind) {
	knownRequests, knownReplies := responder.KnownMessageTypes(k)
	send := func(d *prometheus.Desc, known []uint8, get func(responder.Kind, uint8) uint64) {
		var isKnown [256]bool
		for _, t := range known {
			isKnown[t] = true
		}
		for t := range 256 {
			n := get(k, uint8(t))
			if n == 0 && !isKnown[t] {
				continue
			}
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), k.String(), responder.MessageTypeName(k, uint8(t)))
		}
	}
	send(c.requests, knownRequests, c.src.Stats.Requests)
	send(c.replies, knownReplies, c.src.Stats.Replies)
}

// collectKernelQueues sends the kernel's own counters of the daemon's
// queues. The table is per network namespace and may list other programs'
// queues: only the daemon's are reported. A table that cannot be read
// (no queue bound yet, module not loaded) reports nothing.
func (c *daemonCollector) collectKernelQueues(ch chan<- prometheus.Metric, ours map[uint16]uint64) {
	stats, err := readKernelQueues(c.src.KernelQueues)
	if err != nil {
		return
	}
	for _, q := range stats {
		if _, ok := ours[q.Num]; !ok {
			continue
		}
		num := strconv.Itoa(int(q.Num))
		ch <- prometheus.MustNewConstMetric(c.kernelDropped, prometheus.CounterValue, float64(q.Dropped), num)
		ch <- prometheus.MustNewConstMetric(c.kernelUserDrops, prometheus.CounterValue, float64(q.UserDropped), num)
		ch <- prometheus.MustNewConstMetric(c.kernelWaiting, prometheus.GaugeValue, float64(q.Waiting), num)
	}
}

// cumulativeBuckets converts the responder's per-bucket counts into the
// cumulative upper-bound map of a Prometheus histogram, in seconds. The
// last count (above every bound) is the +Inf bucket, which the library
// derives from the total.
func cumulativeBuckets(s responder.LatencySnapshot) map[float64]uint64 {
	buckets := make(map[float64]uint64, len(s.Bounds))
	var total uint64
	for i, bound := range s.Bounds {
		total += s.Counts[i]
		buckets[bound.Seconds()] = total
	}
	return buckets
}
