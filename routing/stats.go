package routing

import "sync/atomic"

// Stats counts what a Reconciler did, for the metrics endpoint. Its
// methods may be called concurrently with Run. The zero value is ready;
// a nil *Stats counts nothing.
type Stats struct {
	syncs      atomic.Uint64
	fullSyncs  atomic.Uint64
	syncErrors atomic.Uint64
	opsApplied atomic.Uint64
	opsFailed  atomic.Uint64
}

// A StatsSnapshot is a copy of the counters of a Stats.
type StatsSnapshot struct {
	// Syncs counts passes, FullSyncs those that re-read the kernel, and
	// SyncErrors those that failed (the kernel could not be read, or an
	// op failed).
	Syncs, FullSyncs, SyncErrors uint64
	// OpsApplied and OpsFailed count the kernel changes made and refused.
	OpsApplied, OpsFailed uint64
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
	}
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
	if err != nil {
		s.syncErrors.Add(1)
	}
}
