package binding

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
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

	links map[int]Link // by index
	// linkIndexes lists the indexes of the links of each name: almost
	// always one, but two links may briefly share a name while events are
	// replayed.
	linkIndexes map[string][]int
	linksSynced bool
	linkEvents  <-chan LinkEvent
	linkBackoff time.Duration

	// indevUsers holds, for each INDEV name, the files whose good binding
	// uses it, so that a change of that link re-evaluates just them.
	indevUsers map[string]map[string]struct{}

	// active holds the Active of each binding in the published snapshot, so
	// that an unchanged binding keeps its pointer across rebuilds.
	active map[string]*Active
	// dirtyNames holds the files whose status may have changed since the
	// last publish; rebuildAll asks for every file to be looked at again.
	dirtyNames map[string]struct{}
	rebuildAll bool

	// claims index the addresses of the good bindings; refusedFor holds,
	// for each file refused because it overlaps another, that other file,
	// so that the refused one is read again when the other lets go.
	claims     *Claims
	refusedFor map[string]string

	// afterRename is set when the previous directory event was a rename
	// away: inotify reports the two halves of a rename back to back, so a
	// Create right after it is a file renamed into place.
	afterRename bool

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
		linkIndexes: make(map[string][]int),
		indevUsers:  make(map[string]map[string]struct{}),
		active:      make(map[string]*Active),
		dirtyNames:  make(map[string]struct{}),
		claims:      NewClaims(),
		refusedFor:  make(map[string]string),
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
	b, gone, err := l.read(name)
	switch {
	case gone:
		l.remove(name)
	case err != nil:
		l.fail(name, err)
	default:
		l.set(name, b)
	}
}

// loadRenamed reads a file that was renamed into place, without waiting.
// Should it not parse, the guess that it was renamed may have been wrong
// (a rename away followed by a file created in place), so it then gets the
// quiet period of a file written in place before its error is reported.
func (l *loop) loadRenamed(name string) {
	delete(l.dirty, name)
	b, gone, err := l.read(name)
	switch {
	case gone:
		l.remove(name)
	case err != nil:
		l.touch(name, time.Now())
	default:
		l.set(name, b)
	}
}

// removeIfGone forgets a file that was removed or renamed away, unless
// something already took its place, which is then read like a file written
// in place.
func (l *loop) removeIfGone(name string) {
	if _, err := os.Stat(l.path(name)); errors.Is(err, fs.ErrNotExist) {
		delete(l.dirty, name)
		l.remove(name)
		return
	}
	l.touch(name, time.Now())
}

// read reads and parses the file called name. gone reports that there is no
// binding file by that name any more: nothing there, or a directory, which
// may have replaced one.
func (l *loop) read(name string) (b *Binding, gone bool, err error) {
	data, isDir, err := readRegularFile(l.path(name))
	switch {
	case errors.Is(err, fs.ErrNotExist) || isDir:
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	parsed, err := Parse(name, data)
	if err != nil {
		return nil, false, err
	}
	return &parsed, false, nil
}

// set records a file that parsed, unless it claims addresses another
// binding owns: the later file is refused, the first keeps working.
func (l *loop) set(name string, b *Binding) {
	if err := l.claims.Check(b); err != nil {
		l.refuseOverlap(name, err)
		return
	}
	delete(l.refusedFor, name)
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
	if f.good != nil {
		l.dropIndevUser(f.good.Indev, name)
	}
	l.addIndevUser(b.Indev, name)
	f.good, f.err = b, nil
	l.claims.Set(b)
	l.markDirty(name)
	l.retryRefused(name)
}

// refuseOverlap records a file refused because it overlaps another
// binding; like an invalid file, it keeps its previous good binding.
func (l *loop) refuseOverlap(name string, err error) {
	oe, ok := err.(*OverlapError)
	if !ok {
		l.fail(name, err)
		return
	}
	l.refusedFor[name] = oe.Other
	f, changed := l.setError(name, err)
	if !changed {
		return // already reported
	}
	l.t.log.Warn("binding: file refused: its addresses overlap another binding's",
		"BINDING_FILE", l.path(name), "OTHER_FILE", l.path(oe.Other), "kept_previous", f.good != nil, "error", err)
}

// retryRefused reads again the files refused because they overlapped the
// binding called name, which changed or went away.
func (l *loop) retryRefused(name string) {
	for refused, other := range l.refusedFor {
		if other == name {
			delete(l.refusedFor, refused)
			l.load(refused)
		}
	}
}

// fail records a file that does not parse. A previous good binding stays:
// a hook caught mid-write or a typo must not cut a running VM off.
func (l *loop) fail(name string, err error) {
	f, changed := l.setError(name, err)
	if !changed {
		return // already reported
	}
	if f.good != nil {
		l.t.log.Warn("binding: file invalid, keeping the previous binding",
			"BINDING_FILE", l.path(name), "error", err)
		return
	}
	l.t.log.Warn("binding: file invalid", "BINDING_FILE", l.path(name), "error", err)
}

// setError records err as the error of the file called name and marks it
// dirty, unless it already has the same error: then it reports no change,
// and the caller does not log it again.
func (l *loop) setError(name string, err error) (f *fileState, changed bool) {
	f = l.files[name]
	if f == nil {
		f = &fileState{}
		l.files[name] = f
	}
	if f.err != nil && f.err.Error() == err.Error() {
		return f, false
	}
	f.err = err
	l.markDirty(name)
	return f, true
}

// remove forgets a file that is gone.
func (l *loop) remove(name string) {
	f, ok := l.files[name]
	if !ok {
		return
	}
	delete(l.files, name)
	delete(l.refusedFor, name)
	l.markDirty(name)
	if f.good != nil {
		l.dropIndevUser(f.good.Indev, name)
		l.logBinding("binding: removed", f.good)
		l.claims.Remove(name)
		l.retryRefused(name)
	}
}

func (l *loop) markDirty(name string) { l.dirtyNames[name] = struct{}{} }

// addIndevUser notes that the binding of the file called name uses the link
// indev as INDEV. A routed binding's INDEV is its own TAP, which
// linkChanged finds without this index.
func (l *loop) addIndevUser(indev, name string) {
	if indev == name {
		return
	}
	users := l.indevUsers[indev]
	if users == nil {
		users = make(map[string]struct{}, 1)
		l.indevUsers[indev] = users
	}
	users[name] = struct{}{}
}

func (l *loop) dropIndevUser(indev, name string) {
	if indev == name {
		return
	}
	users := l.indevUsers[indev]
	delete(users, name)
	if len(users) == 0 {
		delete(l.indevUsers, indev)
	}
}

func (l *loop) logBinding(msg string, b *Binding) {
	if !l.t.log.Enabled(context.Background(), slog.LevelInfo) {
		return // the initial load would format 10,000 lines for nobody
	}
	l.t.log.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.String("TAP", b.Name),
		slog.String("MAC", b.MAC.String()),
		slog.String("IP", addrString(b.IP)),
		slog.String("IP6", addrString(b.EUI64)),
		slog.String("BINDING_FILE", l.path(b.Name)))
}

func (l *loop) path(name string) string { return filepath.Join(l.t.dir, name) }

// applyLink records a link event and marks the files it concerns: the
// binding of the TAP of that name and the bindings using it as INDEV. A
// full list marks every file.
func (l *loop) applyLink(ev LinkEvent) {
	if ev.Sync {
		l.links = make(map[int]Link, len(ev.Links))
		l.linkIndexes = make(map[string][]int, len(ev.Links))
		for _, k := range ev.Links {
			if old, had := l.links[k.Index]; had {
				l.unindexLink(old)
			}
			l.links[k.Index] = k
			l.linkIndexes[k.Name] = append(l.linkIndexes[k.Name], k.Index)
		}
		l.linksSynced = true
		l.rebuildAll = true
		return
	}
	old, had := l.links[ev.Link.Index]
	if ev.Deleted {
		if had {
			delete(l.links, ev.Link.Index)
			l.unindexLink(old)
			l.linkChanged(old.Name)
		}
		return
	}
	if had && sameLink(old, ev.Link) {
		return
	}
	if had {
		l.unindexLink(old)
		l.linkChanged(old.Name)
	}
	l.links[ev.Link.Index] = ev.Link
	l.linkIndexes[ev.Link.Name] = append(l.linkIndexes[ev.Link.Name], ev.Link.Index)
	l.linkChanged(ev.Link.Name)
}

func (l *loop) unindexLink(k Link) {
	idx := slices.DeleteFunc(l.linkIndexes[k.Name], func(i int) bool { return i == k.Index })
	if len(idx) == 0 {
		delete(l.linkIndexes, k.Name)
		return
	}
	l.linkIndexes[k.Name] = idx
}

// linkChanged marks the files that a change of the link called name
// concerns.
func (l *loop) linkChanged(name string) {
	if _, ok := l.files[name]; ok {
		l.markDirty(name)
	}
	for user := range l.indevUsers[name] {
		l.markDirty(user)
	}
}

// linkNamed returns the link called name. Of two links sharing a name the
// newer index wins, and the next event settles it.
func (l *loop) linkNamed(name string) (Link, bool) {
	idx := l.linkIndexes[name]
	if len(idx) == 0 {
		return Link{}, false
	}
	return l.links[slices.Max(idx)], true
}

// logActive reports a binding that became active, or whose TAP was
// recreated with a new index.
func (l *loop) logActive(a *Active) {
	if !l.t.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	l.t.log.LogAttrs(context.Background(), slog.LevelInfo, "binding: active",
		slog.String("TAP", a.Name), slog.Int("IFINDEX", a.TapIndex),
		slog.String("INDEV", a.Indev), slog.String("INDEV_MAC", a.IndevMAC.String()))
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
		a.Table == b.Table && a.Uplink == b.Uplink && a.Uplink6 == b.Uplink6 &&
		a.Addresses.Equal(&b.Addresses) && a.Profile.Equal(&b.Profile)
}

func joinReasons(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
