package binding

import (
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/vishvananda/netns"
)

// A Table is the live set of bindings: it watches the binding directory and
// the host's links, and publishes an immutable Snapshot of the active
// bindings whenever either changes.
//
// Run does the work; every other method is safe for concurrent use, and
// Snapshot takes no lock.
type Table struct {
	dir   string
	log   *slog.Logger
	links LinkSource

	// quiet is how long a file written in place must stay untouched before
	// it is parsed, so that a writer is not caught mid-write; maxDelay
	// bounds the wait for a file that is rewritten without pause. A file
	// renamed into place is read at once.
	quiet, maxDelay time.Duration
	// dirRetry is the pause between attempts to watch a missing directory.
	dirRetry time.Duration
	// onWatcher, when set, is given the directory watcher; tests use it to
	// inject watcher errors.
	onWatcher func(*fsnotify.Watcher)

	snap atomic.Pointer[Snapshot]

	// status holds the Status of every file by name, updated in place by
	// Run one entry per change and sorted only when Status is called: the
	// status view is read rarely, the table changes often.
	statusMu sync.Mutex
	status   map[string]*Status // entries are replaced, never modified

	ready     chan struct{}
	readyOnce sync.Once
	rescan    chan struct{}

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
	// statusSubs are woken after any change of the status list, pending
	// and invalid files included (SubscribeStatus).
	statusSubs map[chan struct{}]struct{}
}

// Defaults of the Table's timing. The quiet period applies only to files
// written in place (the hooks write a temporary file and rename it, which
// needs no wait): a writer of a dozen lines issues its few write calls
// within microseconds of each other, so 15 ms of quiet still leaves a wide
// margin for a descheduled writer on a busy host, while keeping the delay
// from a file written to its first answer well under the 50 ms goal
// (issue 6), and far shorter than a VM's DHCP retry.
const (
	defaultQuiet    = 15 * time.Millisecond
	defaultMaxDelay = 500 * time.Millisecond
	defaultDirRetry = 200 * time.Millisecond
)

// An Option configures a Table.
type Option func(*tableOptions)

type tableOptions struct {
	ns    netns.NsHandle
	links LinkSource
}

// WithNetns makes the Table follow the links of the network namespace ns
// instead of the process's own. The handle must stay open while Run runs.
func WithNetns(ns netns.NsHandle) Option {
	return func(o *tableOptions) { o.ns = ns }
}

// WithLinkSource makes the Table take link events from src instead of
// netlink; WithNetns is then ignored.
func WithLinkSource(src LinkSource) Option {
	return func(o *tableOptions) { o.links = src }
}

// NewTable returns a Table of the binding files in dir, logging to log (nil
// discards). Nothing happens until Run is called.
func NewTable(dir string, log *slog.Logger, opts ...Option) *Table {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := tableOptions{ns: netns.None()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.links == nil {
		o.links = NetlinkLinks(o.ns, log)
	}
	t := &Table{
		dir:      filepath.Clean(dir),
		log:      log,
		links:    o.links,
		quiet:    defaultQuiet,
		maxDelay: defaultMaxDelay,
		dirRetry: defaultDirRetry,
		ready:    make(chan struct{}),
		rescan:   make(chan struct{}, 1),
		subs:     make(map[chan struct{}]struct{}),
		status:   make(map[string]*Status),

		statusSubs: make(map[chan struct{}]struct{}),
	}
	t.snap.Store(NewSnapshot(nil))
	return t
}

// Ready returns a channel that is closed once the initial directory scan and
// the initial list of links have both been applied: from then on Snapshot
// reflects the host, and the daemon may start answering.
func (t *Table) Ready() <-chan struct{} { return t.ready }

// Snapshot returns the current active bindings. It is never nil (empty
// before Ready) and never modified; it takes no lock and does not allocate.
func (t *Table) Snapshot() *Snapshot { return t.snap.Load() }

// Status returns the state of every binding file, sorted by name. The
// Bindings it points to are shared and must not be modified.
func (t *Table) Status() []Status {
	t.statusMu.Lock()
	out := make([]Status, 0, len(t.status))
	for _, st := range t.status {
		out = append(out, *st)
		out[len(out)-1].File = filepath.Join(t.dir, st.Name)
	}
	t.statusMu.Unlock()
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Rescan asks Run to read the whole directory again, as after SIGHUP. It
// does not wait; requests made while one is pending are merged.
func (t *Table) Rescan() {
	select {
	case t.rescan <- struct{}{}:
	default:
	}
}

// Subscribe returns a channel that receives a notification after the
// Snapshot changes, and a function that ends the subscription. The channel
// holds at most one notification, so a slow consumer is never blocked on and
// sees one wake-up for any number of changes; it holds one from the start,
// so a consumer loop can read the Snapshot on every wake-up, the first
// included.
func (t *Table) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	t.subMu.Lock()
	t.subs[ch] = struct{}{}
	t.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			t.subMu.Lock()
			delete(t.subs, ch)
			t.subMu.Unlock()
		})
	}
}

// SubscribeStatus is Subscribe for the status list: its channel is woken
// after any change of a file's status, including those that leave the
// Snapshot alone (a pending binding appearing or going, a file turning
// invalid). The activity events of pending bindings need them.
func (t *Table) SubscribeStatus() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	t.subMu.Lock()
	t.statusSubs[ch] = struct{}{}
	t.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			t.subMu.Lock()
			delete(t.statusSubs, ch)
			t.subMu.Unlock()
		})
	}
}

// statusChanged wakes the status subscribers.
func (t *Table) statusChanged() {
	t.subMu.Lock()
	defer t.subMu.Unlock()
	for ch := range t.statusSubs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// publish makes s the current snapshot and wakes the subscribers.
func (t *Table) publish(s *Snapshot) {
	t.snap.Store(s)
	t.subMu.Lock()
	defer t.subMu.Unlock()
	for ch := range t.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// markReady closes the Ready channel, once. Before that it returns the
// garbage of the initial load to the system: reading 10,000 files and
// links leaves the Go heap grown to about twice the table's size (file
// contents, parse and netlink buffers, the link list), which the runtime
// would otherwise keep mapped for minutes. One forced collection costs a
// few milliseconds of the start-up and brings the daemon's resident memory
// at 10,000 bindings under the 64 MiB goal of issue 6.
func (t *Table) markReady() {
	t.readyOnce.Do(func() {
		debug.FreeOSMemory()
		close(t.ready)
	})
}
