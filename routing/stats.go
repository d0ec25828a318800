package routing

import (
	"sync/atomic"
	"time"
)

// Stats counts what a Reconciler did, for the metrics endpoint. Its
// methods may be called concurrently with Run. The zero value is ready;
// a nil *Stats counts nothing.
type Stats struct {
	syncs      atomic.Uint64
	fullSyncs  atomic.Uint64
	syncErrors atomic.Uint64
	opsApplied atomic.Uint64
	opsFailed  atomic.Uint64
	guardPorts atomic.Uint64
	last       atomic.Pointer[SyncResult]
}

// A SyncResult is how the latest reconcile pass ended: what `nfdhcpd
// status` shows of the routing module, next to the counters.
type SyncResult struct {
	At  time.Time // zero before the first pass
	Err string    // why the pass failed; empty when it succeeded
}

// A StatsSnapshot is a copy of the counters of a Stats.
type StatsSnapshot struct {
	// Syncs counts passes, FullSyncs those that re-read the kernel, and
	// SyncErrors those that failed (the kernel could not be read, or an
	// op failed).
	Syncs, FullSyncs, SyncErrors uint64
	// OpsApplied and OpsFailed count the kernel changes made and refused.
	OpsApplied, OpsFailed uint64
	// GuardPorts is how many TAPs the bridge guard held after the latest
	// clean pass.
	GuardPorts uint64
}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() StatsSnapshot {
	if s == nil {
		return StatsSnapshot{}
	}
	return StatsSnapshot{
		Syncs:      s.syncs.Load(),
		FullSyncs:  s.fullSyncs.Load(),
		SyncErrors: s.syncErrors.Load(),
		OpsApplied: s.opsApplied.Load(),
		OpsFailed:  s.opsFailed.Load(),
		GuardPorts: s.guardPorts.Load(),
	}
}

// LastSync returns how the latest pass ended.
func (s *Stats) LastSync() SyncResult {
	if s == nil {
		return SyncResult{}
	}
	if last := s.last.Load(); last != nil {
		return *last
	}
	return SyncResult{}
}

// recordSync counts one pass: whether it re-read the kernel, how many ops
// it applied and how many failed, and whether it failed as a whole.
func (s *Stats) recordSync(full bool, applied, failed int, err error) {
	if s == nil {
		return
	}
	s.syncs.Add(1)
	if full {
		s.fullSyncs.Add(1)
	}
	s.opsApplied.Add(uint64(applied))
	s.opsFailed.Add(uint64(failed))
	last := SyncResult{At: time.Now()}
	if err != nil {
		s.syncErrors.Add(1)
		last.Err = err.Error()
	}
	s.last.Store(&last)
}

// recordGuard notes how many TAPs the guard holds after a clean pass.
func (s *Stats) recordGuard(elems []GuardElem) {
	if s == nil {
		return
	}
	n := 0
	for _, e := range elems {
		if e.Set == GuardSetPorts {
			n++
		}
	}
	s.guardPorts.Store(uint64(n))
}
