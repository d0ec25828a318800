package responder

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
)

// An raClock is the time source of the periodic RA loop; tests replace it.
type raClock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type raWallClock struct{}

func (raWallClock) Now() time.Time                         { return time.Now() }
func (raWallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// An raKey identifies one TAP instance: a TAP deleted and recreated under
// the same name is a new interface and gets a prompt advertisement.
type raKey struct {
	name  string
	index int
}

type raEntry struct {
	a   *binding.Active
	due time.Time
}

// RunPeriodicRA sends an unsolicited Router Advertisement to all nodes on
// every bound TAP with IPv6 once per RA period, until ctx is done. Each TAP
// has its own slot in the period (a hash of its name), so that a host with
// many VMs never sends them all at once. A receive on changes means the
// binding table changed: new TAPs get one advertisement at once, removed
// ones are forgotten. A failure on one TAP is logged and never stops the
// others.
func (r *Responder) RunPeriodicRA(ctx context.Context, changes <-chan struct{}) error {
	return r.runPeriodicRA(ctx, changes, raWallClock{})
}

func (r *Responder) runPeriodicRA(ctx context.Context, changes <-chan struct{}, clock raClock) error {
	plan := make(map[raKey]*raEntry)
	var period time.Duration
	var ipv6, planned bool
	for {
		o := r.opts.Load()
		if p := v6OrDefault(o.RAPeriod, v6DefaultRAPeriod); p != period || o.IPv6 != ipv6 || !planned {
			// A reload that moves every slot owes nobody a prompt RA.
			period, ipv6, planned = p, o.IPv6, true
			clear(plan)
			r.raReplan(plan, o, period, clock.Now(), false)
		}
		var wake <-chan time.Time
		if next, ok := raEarliest(plan); ok {
			wake = clock.After(max(next.Sub(clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changes:
			if !ok {
				changes = nil
			}
			r.raReplan(plan, o, period, clock.Now(), true)
		case <-wake:
			now := clock.Now()
			for _, e := range plan {
				if e.due.After(now) {
					continue
				}
				r.raSend(e.a, o, "periodic")
				e.due = raSlot(e.a.Name, period, now)
			}
		}
	}
}

// raReplan brings plan in line with the current bindings. Newcomers are
// due at once when prompt is set, else at their slot.
func (r *Responder) raReplan(plan map[raKey]*raEntry, o *Options, period time.Duration, now time.Time, prompt bool) {
	seen := make(map[raKey]bool, len(plan))
	if o.IPv6 {
		for _, a := range r.bindings.Snapshot().All() {
			if !a.HasIPv6() || v6Mode(a, o) == ModeNone {
				continue
			}
			k := raKey{a.Name, a.TapIndex}
			seen[k] = true
			if e, ok := plan[k]; ok {
				e.a = a // the binding's content may have changed
				continue
			}
			due := raSlot(a.Name, period, now)
			if prompt {
				due = now
			}
			plan[k] = &raEntry{a: a, due: due}
		}
	}
	for k := range plan {
		if !seen[k] {
			delete(plan, k)
		}
	}
	r.prompts.keepOnly(seen)
}

// raSend sends one unsolicited advertisement, periodic or prompt; errors
// are logged only.
func (r *Responder) raSend(a *binding.Active, o *Options, why string) {
	frame, err := packets.BuildRA(v6RAParams(a, o))
	if err != nil {
		r.log.Error("building "+why+" router advertisement failed", "TAP", a.Name, "error", err)
		return
	}
	if err := r.sender.Send(a.TapIndex, frame); err != nil {
		r.log.Warn("sending "+why+" router advertisement failed", "TAP", a.Name, "error", err)
		return
	}
	if r.debug() {
		r.log.Debug("sent "+why+" router advertisement", "TAP", a.Name)
	}
}

// raSlot returns the first instant after now at the name's offset in the
// period, counted from the Unix epoch so that slots survive restarts.
func raSlot(name string, period time.Duration, now time.Time) time.Time {
	h := fnv.New64a()
	h.Write([]byte(name))
	offset := time.Duration(h.Sum64() % uint64(period))
	into := time.Duration(now.UnixNano() % int64(period))
	wait := offset - into
	if wait <= 0 {
		wait += period
	}
	return now.Add(wait)
}

func raEarliest(plan map[raKey]*raEntry) (time.Time, bool) {
	var next time.Time
	found := false
	for _, e := range plan {
		if !found || e.due.Before(next) {
			next, found = e.due, true
		}
	}
	return next, found
}
