package binding

import (
	"bytes"
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// A loop is the state Run owns: nothing else touches it, so it needs no
// lock. Readers see it only through published snapshots and status lists.
type loop struct {
	t *Table
	w *fsnotify.Watcher

	watching bool // the directory watch is in place
	dirLost  bool // the failure to watch has been logged
	scanned  bool // a directory scan has been attempted

	files map[string]*fileState
	// dirty holds the files touched since they were last read, with the
	// times of the first and the latest event.
	dirty map[string]touched

	links       map[int]Link // by index
	linksSynced bool
	linkEvents  <-chan LinkEvent
	linkBackoff time.Duration

	// active holds the Active of each binding in the published snapshot, so
	// that an unchanged binding keeps its pointer across rebuilds.
	active  map[string]*Active
	changed bool

	debounce, dirRetry, linkRetry *time.Timer
}

// A fileState is what is known of one binding file.
type fileState struct {
	good *Binding // the last content that parsed; nil if none ever did
	err  error    // why the current content does not parse; nil if it does
}

type touched struct{ first, last time.Time }

func newLoop(t *Table, w *fsnotify.Watcher) *loop {
	return &loop{
		t:           t,
		w:           w,
		files:       make(map[string]*fileState),
		dirty:       make(map[string]touched),
		links:       make(map[int]Link),
		active:      make(map[string]*Active),
		linkBackoff: linkRetryMin,
		debounce:    stoppedTimer(),
		dirRetry:    stoppedTimer(),
		linkRetry:   stoppedTimer(),
	}
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *loop) stopTimers() {
	l.debounce.Stop()
	l.dirRetry.Stop()
	l.linkRetry.Stop()
}

// touch notes an event on the file name and (re)arms the debounce timer.
func (l *loop) touch(name string, now time.Time) {
	d, ok := l.dirty[name]
	if !ok {
		d.first = now
	}
	d.last = now
	l.dirty[name] = d
	l.armDebounce(now)
}

// due is when a touched file is read: after a quiet period, or after
// maxDelay since the first event when the writes never pause.
func (l *loop) due(d touched) time.Time {
	at := d.last.Add(l.t.quiet)
	if limit := d.first.Add(l.t.maxDelay); limit.Before(at) {
		at = limit
	}
	return at
}

func (l *loop) armDebounce(now time.Time) {
	l.debounce.Stop()
	if len(l.dirty) == 0 {
		return
	}
	var next time.Time
	for _, d := range l.dirty {
		if at := l.due(d); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	l.debounce.Reset(max(next.Sub(now), 0))
}

// loadDue reads the files whose quiet period is over.
func (l *loop) loadDue(now time.Time) {
	for name, d := range l.dirty {
		if !l.due(d).After(now) {
			delete(l.dirty, name)
			l.load(name)
		}
	}
	l.armDebounce(now)
}

// rescan reads every file of the directory and forgets the files that are
// gone. When the directory cannot be read the known bindings are kept: a
// directory moved away or on a failing disk is no reason to stop serving.
func (l *loop) rescan() {
	entries, err := os.ReadDir(l.t.dir)
	l.scanned = true
	if err != nil {
		l.t.log.Error("binding: cannot read the binding directory; known bindings are kept",
			"dir", l.t.dir, "error", err)
		return
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		if Ignored(name) || e.IsDir() {
			continue
		}
		present[name] = true
		delete(l.dirty, name)
		l.load(name)
	}
	for name := range l.files {
		if !present[name] {
			l.remove(name)
		}
	}
	l.armDebounce(time.Now())
}

// load reads and parses one file and records the outcome.
func (l *loop) load(name string) {
	path := filepath.Join(l.t.dir, name)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.remove(name)
		return
	case err == nil && fi.IsDir():
		// Not a binding; it may have replaced one.
		l.remove(name)
		return
	}
	data, err := readBindingFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		l.remove(name)
		return
	}
	var b Binding
	if err == nil {
		b, err = Parse(name, data)
	}
	if err != nil {
		l.fail(name, err)
		return
	}
	l.set(name, &b)
}

// set records a file that parsed.
func (l *loop) set(name string, b *Binding) {
	f := l.files[name]
	switch {
	case f == nil || f.good == nil:
		l.logBinding("binding: added", b)
	case !equalBindings(f.good, b):
		l.logBinding("binding: changed", b)
	case f.err == nil:
		return // rewritten with the same content
	default:
		l.t.log.Info("binding: file valid again", "BINDING_FILE", l.path(name))
	}
	if f == nil {
		f = &fileState{}
		l.files[name] = f
	}
	f.good, f.err = b, nil
	l.changed = true
}

// fail records a file that does not parse. A previous good binding stays:
// a hook caught mid-write or a typo must not cut a running VM off.
func (l *loop) fail(name string, err error) {
	f := l.files[name]
	if f == nil {
		f = &fileState{}
		l.files[name] = f
	}
	if f.err != nil && f.err.Error() == err.Error() {
		return // already reported
	}
	f.err = err
	l.changed = true
	if f.good != nil {
		l.t.log.Warn("binding: file invalid, keeping the previous binding",
			"BINDING_FILE", l.path(name), "error", err)
		return
	}
	l.t.log.Warn("binding: file invalid", "BINDING_FILE", l.path(name), "error", err)
}

// remove forgets a file that is gone.
func (l *loop) remove(name string) {
	f, ok := l.files[name]
	if !ok {
		return
	}
	delete(l.files, name)
	l.changed = true
	if f.good != nil {
		l.logBinding("binding: removed", f.good)
	}
}

func (l *loop) logBinding(msg string, b *Binding) {
	l.t.log.Info(msg,
		"TAP", b.Name,
		"MAC", b.MAC.String(),
		"IP", addrString(b.IP),
		"IP6", addrString(b.EUI64),
		"BINDING_FILE", l.path(b.Name))
}

func (l *loop) path(name string) string { return filepath.Join(l.t.dir, name) }

// applyLink records a link event.
func (l *loop) applyLink(ev LinkEvent) {
	if ev.Sync {
		l.links = make(map[int]Link, len(ev.Links))
		for _, k := range ev.Links {
			l.links[k.Index] = k
		}
		l.linksSynced = true
		l.changed = true
		return
	}
	old, had := l.links[ev.Link.Index]
	if ev.Deleted {
		if had {
			delete(l.links, ev.Link.Index)
			l.changed = true
		}
		return
	}
	if had && sameLink(old, ev.Link) {
		return
	}
	l.links[ev.Link.Index] = ev.Link
	l.changed = true
}

// publish rebuilds the status list and, when the set of active bindings
// changed, the snapshot. It is the only place that allocates for lookups.
func (l *loop) publish() {
	if l.scanned && l.linksSynced {
		defer l.t.markReady()
	}
	if !l.changed {
		return
	}
	l.changed = false

	byName := make(map[string]Link, len(l.links))
	for _, k := range l.links {
		// Two links may briefly share a name while events are replayed; the
		// newer index wins, and the next event settles it.
		if prev, ok := byName[k.Name]; !ok || k.Index > prev.Index {
			byName[k.Name] = k
		}
	}

	status := make([]Status, 0, len(l.files))
	active := make(map[string]*Active, len(l.active))
	snapshotChanged := false
	for name, f := range l.files {
		st := Status{Name: name, File: l.path(name), Binding: f.good}
		if f.good == nil {
			st.State, st.Reason = StateInvalid, f.err.Error()
			status = append(status, st)
			continue
		}
		tap, tapOK := byName[name]
		indev, indevOK := byName[f.good.Indev]
		switch {
		case !tapOK:
			st.State, st.Reason = StatePending, "TAP "+name+" does not exist"
		case !indevOK:
			st.State, st.Reason = StatePending, "INDEV "+f.good.Indev+" does not exist"
		default:
			st.State, st.TapIndex = StateActive, tap.Index
			prev := l.active[name]
			a := prev
			if a == nil || !sameActive(a, f.good, tap.Index, indev.MAC) {
				a = &Active{Binding: *f.good, TapIndex: tap.Index, IndevMAC: slices.Clone(indev.MAC)}
				snapshotChanged = true
				if prev == nil || prev.TapIndex != a.TapIndex {
					l.logActive(a)
				}
			}
			active[name] = a
		}
		if f.err != nil {
			st.Reason = joinReasons(keptPrefix+f.err.Error(), st.Reason)
		}
		if st.State == StatePending && l.active[name] != nil {
			l.t.log.Info("binding: pending", "TAP", name, "reason", st.Reason)
		}
		status = append(status, st)
	}
	if len(active) != len(l.active) {
		snapshotChanged = true
	}
	slices.SortFunc(status, func(a, b Status) int { return cmp.Compare(a.Name, b.Name) })
	l.t.status.Store(&status)
	l.active = active
	if snapshotChanged {
		list := make([]*Active, 0, len(active))
		for _, a := range active {
			list = append(list, a)
		}
		l.t.publish(NewSnapshot(list))
	}
}

// logActive reports a binding that became active, or whose TAP was
// recreated with a new index.
func (l *loop) logActive(a *Active) {
	l.t.log.Info("binding: active", "TAP", a.Name, "IFINDEX", a.TapIndex,
		"INDEV", a.Indev, "INDEV_MAC", a.IndevMAC.String())
}

// sameActive reports whether a still describes binding b on the TAP with
// index tapIndex and an INDEV with hardware address indevMAC.
func sameActive(a *Active, b *Binding, tapIndex int, indevMAC []byte) bool {
	return a.TapIndex == tapIndex && bytes.Equal(a.IndevMAC, indevMAC) && equalBindings(&a.Binding, b)
}

// equalBindings compares every field of two bindings. A test checks that
// it keeps up with the fields of Binding.
func equalBindings(a, b *Binding) bool {
	return a.Name == b.Name && a.Indev == b.Indev && bytes.Equal(a.MAC, b.MAC) &&
		a.IP == b.IP && a.Hostname == b.Hostname && a.Subnet == b.Subnet && a.Gateway == b.Gateway &&
		a.Subnet6 == b.Subnet6 && a.Gateway6 == b.Gateway6 && a.EUI64 == b.EUI64 &&
		a.Private == b.Private && a.MACSpoof == b.MACSpoof && a.MTU == b.MTU && a.Tags == b.Tags &&
		a.Table == b.Table && a.Uplink == b.Uplink && a.Uplink6 == b.Uplink6
}

func joinReasons(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
