package binding

import (
	"slices"
	"strings"
)

// rebuildFraction decides between patching the published snapshot and
// building it anew: when more than one name in rebuildFraction changed at
// once (the initial scan, a rescan, a link resync), a fresh build and one
// sort cost less than that many insertions into sorted slices.
const rebuildFraction = 8

// publish brings the status list and, when the set of active bindings
// changed, the snapshot up to date with the names marked dirty since the
// last call. Everything touched in one iteration of Run's loop (a burst of
// link events, a rescan) is published once.
//
// A single change costs a copy of the sorted list of the snapshot, of one
// page of its index and a binary search, not a rebuild of every entry: on a
// table of 10,000 bindings tens of microseconds instead of tens of
// milliseconds (BenchmarkTableApplyOneChange).
func (l *loop) publish() {
	if l.scanned && l.linksSynced {
		defer l.t.markReady()
	}
	if !l.rebuildAll && len(l.dirtyNames) == 0 {
		return
	}
	if l.rebuildAll || len(l.dirtyNames) > len(l.files)/rebuildFraction {
		l.publishAll()
	} else {
		l.publishDirty()
	}
	l.t.statusChanged()
	l.rebuildAll = false
	if len(l.dirtyNames) > 64 {
		// A map keeps its size after clear, and ranging over it costs as
		// much as over a full one: after a rescan of 10,000 files every
		// later single change would pay for all of them.
		l.dirtyNames = make(map[string]struct{})
	} else {
		clear(l.dirtyNames)
	}
}

// publishAll evaluates every file and builds the status list and, if any
// binding changed, the snapshot from scratch.
func (l *loop) publishAll() {
	status := make(map[string]*Status, len(l.files))
	active := make(map[string]*Active, len(l.files))
	snapshotChanged := false
	for name := range l.files {
		st, a := l.evaluate(name)
		status[name] = st
		if a != nil {
			active[name] = a
			if l.active[name] != a {
				snapshotChanged = true
			}
		}
	}
	if len(active) != len(l.active) {
		snapshotChanged = true
	}
	l.t.statusMu.Lock()
	l.t.status = status
	l.t.statusMu.Unlock()
	l.active = active
	if !snapshotChanged {
		return
	}
	b := newSnapshotBuilder(nil)
	b.s.all = make([]*Active, 0, len(active))
	for _, a := range active {
		b.setIndex(a.TapIndex, a)
		b.s.all = append(b.s.all, a)
	}
	sortByName(b.s.all)
	s := b.s
	l.t.publish(s)
}

// publishDirty evaluates the dirty names only, updates their status entries
// and publishes a copy of the current snapshot patched with their changes.
// The published snapshot is never modified: readers may hold it.
func (l *loop) publishDirty() {
	l.t.statusMu.Lock()
	defer l.t.statusMu.Unlock()
	var next *snapshotBuilder // started on the first change of an active binding
	for name := range l.dirtyNames {
		st, a := l.evaluate(name)
		if st == nil {
			delete(l.t.status, name)
		} else {
			l.t.status[name] = st
		}

		prev := l.active[name]
		if a == prev {
			continue
		}
		if next == nil {
			next = newSnapshotBuilder(l.t.snap.Load())
		}
		if prev != nil {
			// Another binding may have taken the index over earlier in this
			// batch (two TAPs swapping indexes); it stays.
			if next.s.lookup(prev.TapIndex) == prev {
				next.setIndex(prev.TapIndex, nil)
			}
			delete(l.active, name)
		}
		all := next.s.all
		j, inAll := slices.BinarySearchFunc(all, name, activeByName)
		switch {
		case a == nil && inAll:
			next.s.all = slices.Delete(all, j, j+1)
		case a != nil && inAll:
			all[j] = a
		case a != nil:
			next.s.all = slices.Insert(all, j, a)
		}
		if a != nil {
			next.setIndex(a.TapIndex, a)
			l.active[name] = a
		}
	}
	if next != nil {
		l.t.publish(next.s)
	}
}

func statusByName(s *Status, name string) int { return strings.Compare(s.Name, name) }
func activeByName(a *Active, name string) int { return strings.Compare(a.Name, name) }

// evaluate works out the status of the file called name and, when its
// binding is active, its Active: the published one when nothing about it
// changed, so that consumers can compare pointers. It returns a nil Status
// for a name without a file.
func (l *loop) evaluate(name string) (*Status, *Active) {
	f := l.files[name]
	if f == nil {
		return nil, nil
	}
	// File is filled in by Table.Status: 10,000 paths joined on every load
	// would be 10,000 allocations for a view that is rarely read.
	st := &Status{Name: name, Binding: f.good}
	if f.good == nil {
		st.State, st.Reason = StateInvalid, f.err.Error()
		return st, nil
	}
	tap, tapOK := l.linkNamed(name)
	indev, indevOK := l.linkNamed(f.good.Indev)
	var a *Active
	switch {
	case !tapOK:
		st.State, st.Reason = StatePending, "TAP "+name+" does not exist"
	case !indevOK:
		st.State, st.Reason = StatePending, "INDEV "+f.good.Indev+" does not exist"
	default:
		st.State, st.TapIndex = StateActive, tap.Index
		prev := l.active[name]
		a = prev
		if a == nil || !sameActive(a, f.good, tap.Index, indev.MAC) {
			a = &Active{Binding: *f.good, TapIndex: tap.Index, IndevMAC: slices.Clone(indev.MAC)}
			if prev == nil || prev.TapIndex != a.TapIndex {
				l.logActive(a)
			}
		}
	}
	if f.err != nil {
		st.Reason = joinReasons(keptPrefix+f.err.Error(), st.Reason)
	}
	if st.State == StatePending && l.active[name] != nil {
		l.t.log.Info("binding: pending", "TAP", name, "reason", st.Reason)
	}
	return st, a
}
