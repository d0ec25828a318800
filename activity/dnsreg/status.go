package dnsreg

import (
	"slices"
	"time"
)

// A Report is the registrar's state for the status view.
type Report struct {
	Server     string `json:"server"`
	Zone       string `json:"zone"`
	Key        string `json:"key,omitempty"`
	Registered int    `json:"registered"`
	Pending    int    `json:"pending"`
	Failing    int    `json:"failing"`
	Updates    uint64 `json:"updates"`
	Failures   uint64 `json:"failures"`
	Removed    uint64 `json:"removed"`
	Reconciled bool   `json:"reconciled"`
	// ReconcileNote says why the start-up reconcile was skipped.
	ReconcileNote string `json:"reconcile_note,omitempty"`
	// Problems lists the names not registered, failing ones first.
	Problems []NameReport `json:"problems,omitempty"`
}

// A NameReport is one binding's registration.
type NameReport struct {
	TAP       string    `json:"tap"`
	Name      string    `json:"name,omitempty"`
	Addresses []string  `json:"addresses,omitempty"`
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"`
	NextRetry time.Time `json:"next_retry,omitzero"`
}

// Name returns tap's registration, false when its binding publishes
// nothing.
func (r *Registrar) Name(tap string) (NameReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nameLocked(tap)
}

func (r *Registrar) nameLocked(tap string) (NameReport, bool) {
	e := r.entries[tap]
	if e == nil {
		return NameReport{}, false
	}
	h, ok := r.wantLocked(tap)
	if !ok {
		h = r.registered[tap]
	}
	n := NameReport{TAP: tap, Name: h.Name, State: e.state, Error: e.lastErr}
	for _, a := range h.Addrs {
		n.Addresses = append(n.Addresses, a.String())
	}
	if e.state == StateFailing {
		n.NextRetry = e.next
	}
	return n, true
}

// Status returns the registrar's state.
func (r *Registrar) Status() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{
		Server: r.cfg.Server, Zone: r.cfg.Zone, Key: r.cfg.Key.Name,
		Updates: r.Stats.Updates.Load(), Failures: r.Stats.Failures.Load(), Removed: r.Stats.Removed.Load(),
		Reconciled: r.reconciled, ReconcileNote: r.reconErr,
	}
	for tap, e := range r.entries {
		switch e.state {
		case StateRegistered:
			rep.Registered++
			continue
		case StateFailing:
			rep.Failing++
		default:
			rep.Pending++
		}
		if n, ok := r.nameLocked(tap); ok {
			rep.Problems = append(rep.Problems, n)
		}
	}
	slices.SortFunc(rep.Problems, func(a, b NameReport) int {
		if (a.State == StateFailing) != (b.State == StateFailing) {
			if a.State == StateFailing {
				return -1
			}
			return 1
		}
		if a.TAP < b.TAP {
			return -1
		}
		if a.TAP > b.TAP {
			return 1
		}
		return 0
	})
	if len(rep.Problems) > 100 {
		rep.Problems = rep.Problems[:100]
	}
	return rep
}
