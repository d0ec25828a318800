package binding

import (
	"maps"
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
// A single change costs a copy of the snapshot's index and slices and a
// binary search, not a rebuild of every entry: on a table of 10,000 bindings
// that is the difference between tens of microseconds and tens of
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
	l.rebuildAll = false
	clear(l.dirtyNames)
}

// publishAll evaluates every file and builds the status list and, if any
// binding changed, the snapshot from scratch.
func (l *loop) publishAll() {
	status := make([]*Status, 0, len(l.files))
	active := make(map[string]*Active, len(l.files))
	snapshotChanged := false
	for name := range l.files {
		st, a := l.evaluate(name)
		status = append(status, st)
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
	slices.SortFunc(status, func(a, b *Status) int { return strings.Compare(a.Name, b.Name) })
	l.t.status.Store(&status)
	l.active = active
	if !snapshotChanged {
		return
	}
	s := &Snapshot{byIndex: make(map[int]*Active, len(active)), all: make([]*Active, 0, len(active))}
	for _, a := range active {
		s.byIndex[a.TapIndex] = a
		s.all = append(s.all, a)
	}
	sortByName(s.all)
	l.t.publish(s)
}

// publishDirty evaluates the dirty names only and publishes copies of the
// current status list and snapshot patched with their changes. The
// published ones are never modified: readers may hold them.
func (l *loop) publishDirty() {
	status := slices.Clone(*l.t.status.Load())
	var next *Snapshot // copied on the first change of an active binding
	for name := range l.dirtyNames {
		st, a := l.evaluate(name)
		i, found := slices.BinarySearchFunc(status, name, statusByName)
		switch {
		case st == nil && found:
			status = slices.Delete(status, i, i+1)
		case st != nil && found:
			status[i] = st
		case st != nil:
			status = slices.Insert(status, i, st)
		}

		prev := l.active[name]
		if a == prev {
			continue
		}
		if next == nil {
			cur := l.t.snap.Load()
			next = &Snapshot{byIndex: maps.Clone(cur.byIndex), all: slices.Clone(cur.all)}
		}
		if prev != nil {
			// Another binding may have taken the index over earlier in this
			// batch (two TAPs swapping indexes); it stays.
			if next.byIndex[prev.TapIndex] == prev {
				delete(next.byIndex, prev.TapIndex)
			}
			delete(l.active, name)
		}
		j, inAll := slices.BinarySearchFunc(next.all, name, activeByName)
		switch {
		case a == nil && inAll:
			next.all = slices.Delete(next.all, j, j+1)
		case a != nil && inAll:
			next.all[j] = a
		case a != nil:
			next.all = slices.Insert(next.all, j, a)
		}
		if a != nil {
			next.byIndex[a.TapIndex] = a
			l.active[name] = a
		}
	}
	l.t.status.Store(&status)
	if next != nil {
		l.t.publish(next)
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
	st := &Status{Name: name, File: l.path(name), Binding: f.good}
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
