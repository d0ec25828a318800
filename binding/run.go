package binding

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Backoff of link resubscription: quick for a one-off overflow, patient for
// a kernel that keeps refusing.
const (
	linkRetryMin = 100 * time.Millisecond
	linkRetryMax = 5 * time.Second
)

// maxLinkBurst bounds how many queued link events are applied before the
// snapshot is rebuilt, so that a burst costs one rebuild, not one per event.
const maxLinkBurst = 1024

// maxFileBurst bounds the same for directory events.
const maxFileBurst = 1024

// fileEventBuffer lets the watcher queue a burst of directory events (a
// host writing many binding files at once) so that Run applies them
// together and publishes once, instead of once per event.
const fileEventBuffer = 256

// Run watches the directory and the links until ctx is done, and then
// returns nil. It only fails when the directory watcher cannot be created at
// all. A missing or vanished directory is retried, and the bindings already
// known are kept meanwhile; lost link subscriptions are renewed. Run must be
// called once.
func (t *Table) Run(ctx context.Context) error {
	w, err := fsnotify.NewBufferedWatcher(fileEventBuffer)
	if err != nil {
		return fmt.Errorf("binding: watch %s: %w", t.dir, err)
	}
	defer w.Close()
	if t.onWatcher != nil {
		t.onWatcher(w)
	}
	l := newLoop(t, w)
	defer l.stopTimers()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the link subscription
	l.subscribeLinks(ctx)
	l.watchDir()
	l.rescan()
	l.publish()

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			l.fileEvent(ev)
			l.fileEventsQueued()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			l.watchError(err)
		case <-t.rescan:
			l.rescan()
		case <-l.debounce.C:
			l.loadDue(time.Now())
		case <-l.dirRetry.C:
			if l.watchDir() {
				l.rescan()
			}
		case ev, ok := <-l.linkEvents:
			l.linkEventsReceived(ctx, ev, ok)
		case <-l.linkRetry.C:
			l.subscribeLinks(ctx)
		}
		l.publish()
	}
}

// watchDir starts watching the directory, and arranges a retry when it
// cannot.
func (l *loop) watchDir() bool {
	err := l.w.Add(l.t.dir)
	if err == nil {
		if l.dirLost {
			l.t.log.Info("binding: watching the binding directory again", "dir", l.t.dir)
		}
		l.watching, l.dirLost = true, false
		return true
	}
	if !l.dirLost {
		l.t.log.Error("binding: cannot watch the binding directory, retrying; known bindings are kept",
			"dir", l.t.dir, "error", err)
		l.dirLost = true
	}
	l.watching = false
	l.dirRetry.Reset(l.t.dirRetry)
	return false
}

// fileEvent notes a change of a directory entry, or of the directory itself.
//
// A file renamed into place is complete, the rename being atomic: it is read
// at once. A file created or written in place may be caught between two
// write calls of its writer, so it is read after a quiet period; so is a
// file moved in from another directory, which inotify reports as a bare
// Create that cannot be told from a file created in place. A file removed
// or renamed away is forgotten at once if it is really gone.
func (l *loop) fileEvent(ev fsnotify.Event) {
	renamedIn := l.afterRename && ev.Has(fsnotify.Create)
	l.afterRename = ev.Has(fsnotify.Rename) && ev.Name != l.t.dir
	if ev.Name == l.t.dir {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			// The watch followed the inode; the daemon watches the path,
			// and whatever is at the path now must be read whole.
			_ = l.w.Remove(l.t.dir)
			l.watching = false
			if l.watchDir() {
				l.rescan()
			}
		}
		return
	}
	if filepath.Dir(ev.Name) != l.t.dir {
		return
	}
	name := filepath.Base(ev.Name)
	if Ignored(name) {
		return
	}
	switch {
	case renamedIn:
		l.loadRenamed(name)
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		l.removeIfGone(name)
	default:
		l.touch(name, time.Now())
	}
}

// fileEventsQueued applies the directory events already queued, up to
// maxFileBurst, so that a burst costs one publish.
func (l *loop) fileEventsQueued() {
	for range maxFileBurst {
		select {
		case ev, ok := <-l.w.Events:
			if !ok {
				return // Run's next select sees the closed channel
			}
			l.fileEvent(ev)
		default:
			return
		}
	}
}

// watchError handles an error of the directory watcher. An overflow means
// events were lost, so nothing but a full rescan can be trusted.
func (l *loop) watchError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		l.t.log.Warn("binding: directory events lost, rescanning", "dir", l.t.dir)
		l.rescan()
		return
	}
	l.t.log.Warn("binding: directory watcher", "dir", l.t.dir, "error", err)
}

// subscribeLinks starts a link subscription, or arranges a retry.
func (l *loop) subscribeLinks(ctx context.Context) {
	ch, err := l.t.links.Watch(ctx)
	if err != nil {
		l.t.log.Warn("binding: cannot follow links, retrying", "error", err, "retry", l.linkBackoff)
		l.retryLinks()
		return
	}
	l.linkEvents = ch
}

func (l *loop) retryLinks() {
	l.linkEvents = nil
	l.linkRetry.Reset(l.linkBackoff)
	l.linkBackoff = min(2*l.linkBackoff, linkRetryMax)
}

// linkEventsReceived applies ev and whatever else is already queued.
func (l *loop) linkEventsReceived(ctx context.Context, ev LinkEvent, ok bool) {
	for n := 0; ; n++ {
		if !ok {
			if ctx.Err() == nil {
				l.t.log.Warn("binding: link subscription ended, resubscribing")
				l.retryLinks()
			}
			return
		}
		l.applyLink(ev)
		if ev.Sync {
			l.linkBackoff = linkRetryMin
		}
		if n == maxLinkBurst {
			return
		}
		select {
		case ev, ok = <-l.linkEvents:
		default:
			return
		}
	}
}
