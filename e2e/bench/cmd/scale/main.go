// Command scale measures the daemon with many binding files: the time from
// start to ready and the resident memory with 10,000 bindings, the time
// from a binding file written (as a hook writes it) to the first answer to
// a DHCP client on that TAP, and the cost of one round of periodic Router
// Advertisements to 1,000 TAPs.
//
// It must run as root; everything happens in namespaces it creates and
// deletes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("nfdhcpd", "", "nfdhcpd `binary` to measure")
	n := flag.Int("bindings", 10000, "binding files (and TAPs)")
	samples := flag.Int("samples", 200, "binding-to-answer samples")
	raTaps := flag.Int("ra-taps", 1000, "TAPs in the periodic RA round")
	raPeriod := flag.Duration("ra-period", time.Second, "RA period of the round (the round is spread over it)")
	tableSamples := flag.Int("table-samples", 50, "write-to-snapshot samples of the in-process binding table")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the in-process binding table load to `file`")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *bin, *n, *samples, *raTaps, *raPeriod, *tableSamples, *cpuProfile); err != nil {
		log.Error("scale measurement failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, bin string, n, samples, raTaps int, raPeriod time.Duration, tableSamples int, cpuProfile string) error {
	if os.Geteuid() != 0 {
		return errors.New("scale: needs root to create network namespaces")
	}
	if bin == "" {
		return errors.New("scale: -nfdhcpd is required")
	}
	dir, err := os.MkdirTemp("", "nfdhcpd-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	t0 := time.Now()
	topo, err := newTopology(ctx, n)
	if err != nil {
		return err
	}
	defer topo.close()
	log.Info("topology ready", "taps", n, "took", time.Since(t0).Round(time.Millisecond))

	data := filepath.Join(dir, "bindings")
	if err := writeBindings(data, n); err != nil {
		return err
	}
	conf, err := writeConfig(dir, data)
	if err != nil {
		return err
	}
	d, _, err := startDaemon(topo, bin, conf, filepath.Join(dir, "nfdhcpd.log"))
	if err != nil {
		return err
	}
	defer d.stop()
	ready, err := d.waitReady(ctx, time.Minute)
	if err != nil {
		return err
	}
	pid := d.cmd.Process.Pid
	rssReady, err := vmRSSKiB(pid)
	if err != nil {
		return err
	}
	active, err := loadedActive(d.log.Name())
	if err != nil {
		return err
	}
	log.Info("daemon ready", "took", ready, "active", active, "rss_kib", rssReady)

	p, err := newProber(topo.vm)
	if err != nil {
		return err
	}
	defer p.close()
	lat, err := bindingToAnswer(ctx, log, p, data, samples)
	if err != nil {
		return fmt.Errorf("%w (daemon log: %s)", err, d.log.Name())
	}
	rssAfter, err := vmRSSKiB(pid)
	if err != nil {
		return err
	}
	d.stop()

	tl, err := measureTableLoad(ctx, topo, data, tableSamples, cpuProfile)
	if err != nil {
		return err
	}
	round, err := measureRARound(ctx, topo, min(raTaps, n), raPeriod)
	if err != nil {
		return err
	}

	fmt.Printf("\nScale, %d binding files on %d TAPs (load average %s at the end)\n\n", n, n, loadAverage())
	fmt.Printf("  start to ready (bindings loaded, queues bound) %10s   goal < 1 s\n", ready.Round(time.Millisecond))
	fmt.Printf("  active bindings at ready                       %10d\n", active)
	fmt.Printf("  VmRSS at ready                                 %7.1f MiB   goal < 64 MiB\n", float64(rssReady)/1024)
	fmt.Printf("  VmRSS after the binding-to-answer samples      %7.1f MiB\n", float64(rssAfter)/1024)
	fmt.Printf("  binding file written -> first OFFER (%d samples, DISCOVER every 1 ms)\n", len(lat))
	fmt.Printf("      p50 %s  p99 %s  max %s   goal p99 < 50 ms\n",
		percentile(lat, 50).Round(100*time.Microsecond), percentile(lat, 99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	fmt.Printf("  binding package alone, in-process: Table ready in %s, heap in use %.1f MiB\n",
		tl.Ready.Round(time.Millisecond), float64(tl.HeapInuse)/(1<<20))
	if len(tl.Publish) > 0 {
		fmt.Printf("      file written -> snapshot published (%d samples): p50 %s  p99 %s\n", len(tl.Publish),
			percentile(tl.Publish, 50).Round(100*time.Microsecond), percentile(tl.Publish, 99).Round(100*time.Microsecond))
	}
	fmt.Printf("  periodic RA round to %d TAPs (real AF_PACKET sends, period %s)\n", round.TAPs, raPeriod)
	fmt.Printf("      spread over %s, CPU %s (%.1f µs per RA), %d send errors\n",
		round.Wall.Round(time.Millisecond), round.CPU.Round(time.Millisecond), float64(round.CPU.Microseconds())/float64(round.TAPs), round.Errors)
	return nil
}

// bindingToAnswer writes the probe binding, times the first OFFER, removes
// the binding and waits until the TAP is unanswered again, samples times.
// The returned latencies are sorted.
func bindingToAnswer(ctx context.Context, log *slog.Logger, p *prober, data string, samples int) ([]time.Duration, error) {
	if _, err := p.firstOffer(5*time.Millisecond, 50*time.Millisecond); !errors.Is(err, errNoAnswer) {
		return nil, fmt.Errorf("scale: the probe TAP is answered before any binding (err %v)", err)
	}
	var lat []time.Duration
	for i := range samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := writeProbe(data); err != nil {
			return nil, err
		}
		written := time.Now()
		at, err := p.firstOffer(time.Millisecond, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("scale: sample %d: binding written, %w within 5 s", i, err)
		}
		lat = append(lat, at.Sub(written))
		if err := removeProbe(data); err != nil {
			return nil, err
		}
		// Unbound again once DISCOVERs go unanswered for 100 ms.
		unbound := false
		for until := time.Now().Add(5 * time.Second); time.Now().Before(until); {
			_, err := p.firstOffer(5*time.Millisecond, 100*time.Millisecond)
			if errors.Is(err, errNoAnswer) {
				unbound = true
				break
			}
			if err != nil {
				return nil, fmt.Errorf("scale: sample %d: %w", i, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !unbound {
			return nil, fmt.Errorf("scale: sample %d: still answered 5 s after the binding was removed", i)
		}
		if (i+1)%50 == 0 {
			log.Info("binding-to-answer samples", "done", i+1)
		}
	}
	slices.Sort(lat)
	return lat, nil
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

var activeLine = regexp.MustCompile(`msg="bindings loaded" active=(\d+)`)

// loadedActive reads how many bindings the daemon reported active when
// it had loaded the directory.
func loadedActive(logPath string) (int, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0, err
	}
	m := activeLine.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("scale: no \"bindings loaded\" line in %s", logPath)
	}
	var n int
	_, err = fmt.Sscan(string(m[1]), &n)
	return n, err
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
