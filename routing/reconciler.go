package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
)

// Options tune a Reconciler. The zero value is usable.
type Options struct {
	// Sender sends the announcements of new bindings; nil sends none.
	Sender Sender
	// Logger receives what the reconciler did; nil discards.
	Logger *slog.Logger
	// ResyncInterval is how often the kernel is re-read and every entry
	// re-checked even when nothing changed (default 60 s).
	ResyncInterval time.Duration
	// RetryMin and RetryMax bound the delay before a full resync after a
	// failure, doubling from one to the other (defaults 100 ms and 10 s).
	RetryMin, RetryMax time.Duration
	// Stats, when not nil, counts the syncs and ops (see stats.go).
	Stats *Stats
}

// A Reconciler converges the kernel towards the desired state of the node
// and its bindings. Its methods must not be called concurrently, except
// Lines.
type Reconciler struct {
	cfg    Config
	kernel Kernel
	opts   Options
	log    *slog.Logger

	// believed is what the kernel holds after the last clean sync; nil
	// means unknown, so the next sync re-reads the kernel (full resync).
	believed    *State
	lastProblem string
	// tapIndexes are the TAP indexes of the bindings of the last sync. A
	// TAP recreated under the same name lost its routes and sysctls with
	// the old interface, while its desired state, made of names, is
	// unchanged: only re-reading the kernel notices.
	tapIndexes map[string]int

	mu    sync.Mutex
	lines []string // the believed state, for the status view
}

// NewReconciler returns a Reconciler of the node configured by cfg. It
// starts with no knowledge of the kernel: its first sync is a full resync,
// which adopts the entries an earlier run left in place.
func NewReconciler(cfg Config, k Kernel, opts Options) *Reconciler {
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = time.Minute
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(10*time.Second, opts.RetryMin)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, kernel: k, opts: opts, log: log}
}

// Run syncs at start, after every value received from changes, every
// ResyncInterval, and again after a failure (with a growing delay, as a
// full resync), until ctx is done. snapshot gives the current bindings.
func (r *Reconciler) Run(ctx context.Context, changes <-chan struct{}, snapshot func() *binding.Snapshot) error {
	resync := time.NewTicker(r.opts.ResyncInterval)
	defer resync.Stop()
	retry := time.NewTimer(0) // the initial sync
	defer retry.Stop()
	delay := r.opts.RetryMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changes:
			if !ok {
				changes = nil // closed: keep the periodic resyncs only
			}
		case <-resync.C:
			r.Invalidate()
		case <-retry.C:
		}
		if err := r.Sync(snapshot()); err != nil {
			r.log.Warn("routing: sync failed, will resync", "error", err, "retry_in", delay)
			retry.Reset(delay)
			delay = min(2*delay, r.opts.RetryMax)
			continue
		}
		delay = r.opts.RetryMin
	}
}

// Invalidate forgets what the kernel holds, so that the next Sync is a
// full resync.
func (r *Reconciler) Invalidate() { r.believed = nil }

// Sync makes one pass: it computes the desired state of snap's bindings,
// diffs it against the kernel (re-read when the last pass failed or after
// Invalidate, else the state left by the last pass) and applies the ops,
// then announces the VM addresses whose host route it added. Every op is
// tried; the error joins those that failed, and the next Sync is then a
// full resync.
func (r *Reconciler) Sync(snap *binding.Snapshot) error {
	desired, problems := Desired(r.cfg, snap.All())
	r.reportProblems(problems)
	indexes := make(map[string]int, snap.Len())
	for _, a := range snap.All() {
		indexes[a.Name] = a.TapIndex
		if old, ok := r.tapIndexes[a.Name]; ok && old != a.TapIndex {
			r.believed = nil
		}
	}
	r.tapIndexes = indexes
	observed := r.believed
	full := observed == nil
	if observed == nil {
		names := make([]string, len(desired.Sysctls))
		for i, s := range desired.Sysctls {
			names[i] = s.Name
		}
		st, err := r.kernel.Observe(names)
		if err != nil {
			r.opts.Stats.recordSync(full, 0, 0, err)
			return fmt.Errorf("routing: observe: %w", err)
		}
		st.normalize()
		observed = &st
	}
	ops := Diff(desired, *observed)
	var errs []error
	added := map[Route]bool{}
	results := r.apply(ops)
	for i, op := range ops {
		if err := results[i]; err != nil {
			errs = append(errs, fmt.Errorf("routing: %s: %w", op, err))
			continue
		}
		r.log.Debug("routing: applied", "op", op.String())
		if rt, ok := op.Entry.(Route); ok && op.Action == Add {
			added[rt] = true
		}
	}
	if len(ops) > 0 {
		r.log.Info("routing: synced", "ops", len(ops), "failed", len(errs), "full", r.believed == nil)
	}
	r.opts.Stats.recordSync(full, len(ops)-len(errs), len(errs), errors.Join(errs...))
	r.announce(desired.Announce, added)
	if len(errs) > 0 {
		r.believed = nil
		return errors.Join(errs...)
	}
	r.believed = &desired
	r.opts.Stats.recordGuard(desired.GuardElems)
	r.mu.Lock()
	r.lines = desired.Lines()
	r.mu.Unlock()
	return nil
}

// apply performs ops in order and returns one error per op. A kernel that
// batches gets the runs of ops of one batch kind together: a thousand
// bindings are thousands of routes and set elements, which one system
// call and one acknowledgement each would make slow.
func (r *Reconciler) apply(ops []Op) []error {
	errs := make([]error, len(ops))
	bk, batches := r.kernel.(BatchKernel)
	for i := 0; i < len(ops); {
		j := i + 1
		if kind := batchKind(ops[i]); batches && kind != batchNone {
			for j < len(ops) && batchKind(ops[j]) == kind {
				j++
			}
			copy(errs[i:j], bk.ApplyBatch(ops[i:j]))
			i = j
			continue
		}
		errs[i] = r.kernel.Apply(ops[i])
		i = j
	}
	return errs
}

// Lines returns the state of the last clean sync as text lines, for the
// status view. It is safe to call concurrently with Run.
func (r *Reconciler) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines
}

func (r *Reconciler) reportProblems(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != r.lastProblem && msg != "" {
		r.log.Warn("routing: bindings left unrouted", "error", err)
	}
	r.lastProblem = msg
}

// announce tells the segment about the VM addresses whose host route was
// just added: the VM appeared here, maybe moved from another host whose
// neighbours still point to it.
func (r *Reconciler) announce(anns []Announcement, added map[Route]bool) {
	if r.opts.Sender == nil {
		return
	}
	links := map[string]Link{}
	for _, a := range anns {
		if !added[a.Route] {
			continue
		}
		link, ok := links[a.Dev]
		if !ok {
			var err error
			link, err = r.kernel.Link(a.Dev)
			if err != nil {
				r.log.Warn("routing: cannot announce", "addr", a.Addr, "dev", a.Dev, "error", err)
				continue
			}
			links[a.Dev] = link
		}
		if err := r.send(link, a.Addr); err != nil {
			r.log.Warn("routing: cannot announce", "addr", a.Addr, "dev", a.Dev, "error", err)
			continue
		}
		r.log.Debug("routing: announced", "addr", a.Addr, "dev", a.Dev)
	}
}

func (r *Reconciler) send(link Link, addr netip.Addr) error {
	var frame []byte
	var err error
	if addr.Is4() {
		frame, err = packets.GratuitousARP(link.MAC, addr)
	} else {
		frame, err = packets.UnsolicitedNA(link.MAC, link.LinkLocal, addr)
	}
	if err != nil {
		return err
	}
	return r.opts.Sender.Send(link.Index, frame)
}
