// Package hook runs the operator's event command ([general] event_command)
// once per activity event, the way dnsmasq's --dhcp-script does, off the
// packet path: events wait in a bounded queue, each TAP's run one at a time
// in event order, a run that outlives the timeout is killed, and drops and
// failures are logged and counted.
package hook

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nfdhcpd/nfdhcpd/activity"
)

// Defaults of a Runner's Config.
const (
	DefaultTimeout = 10 * time.Second
	DefaultQueue   = 1024
	DefaultWorkers = 4
	// outputLimit bounds what is kept of a run's output for the log.
	outputLimit = 4096
	// dropLogEvery is how often at most a drop is logged at WARN.
	dropLogEvery = 10 * time.Second
)

// A Config says what to run and how.
type Config struct {
	Command string        // program to run, with no arguments
	Timeout time.Duration // a run is killed after it; DefaultTimeout when 0
	Queue   int           // events waiting at most; DefaultQueue when 0
	Workers int           // TAPs whose events run at once; DefaultWorkers when 0
}

// Stats are a Runner's counters.
type Stats struct {
	Run, Failed, TimedOut, Dropped atomic.Uint64
}

// A Runner runs the event command. Emit is its activity.Sink.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	Stats Stats

	mu      sync.Mutex
	queued  int
	taps    map[string]*tapQueue
	ready   []*tapQueue
	wake    chan struct{}
	dropLog time.Time
	dropped int
}

// A tapQueue is one TAP's waiting events. It is in Runner.ready at most
// once, and taken by one worker at a time: that keeps a TAP's events in
// order, one run after the other.
type tapQueue struct {
	tap       string
	events    []activity.Event
	scheduled bool
}

// New returns a runner for cfg; Run starts its workers.
func New(cfg Config, log *slog.Logger) *Runner {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	return &Runner{cfg: cfg, log: log, taps: map[string]*tapQueue{}, wake: make(chan struct{}, cfg.Workers)}
}

// Command returns the program the runner runs.
func (r *Runner) Command() string { return r.cfg.Command }

// Queued returns how many events wait.
func (r *Runner) Queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queued
}

// Emit queues ev, or drops it when the queue is full. It never blocks.
func (r *Runner) Emit(ev activity.Event) {
	r.mu.Lock()
	if r.queued >= r.cfg.Queue {
		r.Stats.Dropped.Add(1)
		r.dropped++
		now := time.Now()
		if now.Sub(r.dropLog) >= dropLogEvery {
			n := r.dropped
			r.dropped, r.dropLog = 0, now
			r.mu.Unlock()
			r.log.Warn("event command queue full: events dropped", "EVENT", ev.Kind.String(), "TAP", ev.TAP,
				"dropped", n, "queue", r.cfg.Queue)
			return
		}
		r.mu.Unlock()
		return
	}
	q := r.taps[ev.TAP]
	if q == nil {
		q = &tapQueue{tap: ev.TAP}
		r.taps[ev.TAP] = q
	}
	q.events = append(q.events, ev)
	r.queued++
	if !q.scheduled {
		q.scheduled = true
		r.ready = append(r.ready, q)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run runs queued events until ctx is done; what is still queued then is
// not run.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
}

// work takes ready TAPs and runs their events until ctx is done.
func (r *Runner) work(ctx context.Context) {
	for {
		q := r.takeReady()
		if q == nil {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				continue
			}
		}
		for {
			ev, ok := r.next(q)
			if !ok {
				break
			}
			if ctx.Err() != nil {
				return
			}
			r.run(ctx, ev)
		}
	}
}

func (r *Runner) takeReady() *tapQueue {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ready) == 0 {
		return nil
	}
	q := r.ready[0]
	r.ready[0] = nil
	r.ready = r.ready[1:]
	return q
}

// next pops q's oldest event; when q is empty it unschedules it and
// forgets it, so that the map holds only TAPs with events waiting.
func (r *Runner) next(q *tapQueue) (activity.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(q.events) == 0 {
		q.scheduled = false
		q.events = nil
		delete(r.taps, q.tap)
		return activity.Event{}, false
	}
	ev := q.events[0]
	q.events[0] = activity.Event{}
	q.events = q.events[1:]
	r.queued--
	return ev, true
}

// run runs the command once for ev, killing its whole process group at
// the timeout.
func (r *Runner) run(parent context.Context, ev activity.Event) {
	ctx, cancel := context.WithTimeout(parent, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.cfg.Command)
	cmd.Env = append(os.Environ(), Env(ev)...)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild keeping the output pipe open must not hold the worker.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	if parent.Err() != nil {
		return // shutting down: the run was cut short on purpose
	}
	r.Stats.Run.Add(1)
	took := time.Since(start).Round(time.Millisecond).String()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.Stats.TimedOut.Add(1)
		r.Stats.Failed.Add(1)
		r.log.Warn("event command killed at its timeout", "EVENT", ev.Kind.String(), "TAP", ev.TAP,
			"command", r.cfg.Command, "timeout", r.cfg.Timeout.String(), "output", out.String())
	case err != nil:
		r.Stats.Failed.Add(1)
		r.log.Warn("event command failed", "EVENT", ev.Kind.String(), "TAP", ev.TAP,
			"command", r.cfg.Command, "error", err, "took", took, "output", out.String())
	default:
		if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("event command ran", "EVENT", ev.Kind.String(), "TAP", ev.TAP, "took", took)
		}
	}
}

// Env returns the environment variables describing ev, NAME=value.
func Env(ev activity.Event) []string {
	env := []string{
		"NFDHCPD_EVENT=" + ev.Kind.String(),
		"NFDHCPD_TIME=" + strconv.FormatInt(ev.Time.Unix(), 10),
		"TAP=" + ev.TAP,
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("STATE", ev.State)
	if b := ev.Binding; b != nil {
		add("INDEV", b.Indev)
		if b.MAC != nil {
			add("MAC", b.MAC.String())
		}
		if b.IP.IsValid() {
			add("IP", b.IP.String())
		}
		if b.Subnet.IsValid() {
			add("SUBNET", b.Subnet.String())
		}
		if b.Gateway.IsValid() {
			add("GATEWAY", b.Gateway.String())
		}
		if b.EUI64.IsValid() {
			add("IP6", b.EUI64.String())
		}
		if b.Subnet6.IsValid() {
			add("SUBNET6", b.Subnet6.String())
		}
		if b.Gateway6.IsValid() {
			add("GATEWAY6", b.Gateway6.String())
		}
		add("HOSTNAME", b.Hostname)
		add("TAGS", b.Tags)
	}
	if ev.IP.IsValid() {
		// The address the lease event is about: the ACKed, released or
		// declined one, or what a NAKed request asked for.
		add("LEASE_IP", ev.IP.String())
	}
	if !ev.LeaseEnd.IsZero() {
		add("LEASE_END", strconv.FormatInt(ev.LeaseEnd.Unix(), 10))
	}
	if ev.Address6.IsValid() {
		add("ADDRESS6", ev.Address6.String())
	}
	if ev.Prefix6.IsValid() {
		add("DELEGATED6", ev.Prefix6.String())
	}
	add("CLIENT_HOSTNAME", ev.ClientHostname)
	add("VENDOR_CLASS", ev.VendorClass)
	add("USER_CLASS", ev.UserClass)
	if len(ev.ClientID) > 0 {
		add("CLIENT_ID", hex.EncodeToString(ev.ClientID))
	}
	return env
}

// A limitedBuffer keeps the first outputLimit bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := outputLimit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf.Bytes()))
}

var _ fmt.Stringer = (*limitedBuffer)(nil)
