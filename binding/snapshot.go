package binding

import (
	"maps"
	"net"
	"slices"
)

// An Active binding is a Binding whose interfaces exist: what the responder
// needs to answer a packet without touching the kernel.
type Active struct {
	Binding
	// TapIndex is the interface index of the TAP (the file name): packets are
	// matched on it and replies are written to it.
	TapIndex int
	// IndevMAC is the hardware address of Indev: the source MAC of replies
	// and the link-layer address the VM sees for its gateway.
	IndevMAC net.HardwareAddr
}

// A Snapshot is an immutable view of the table at one moment. It is never
// modified after it is published, so readers need no lock.
type Snapshot struct {
	// pages index the bindings by TapIndex in pages of indexPageSize
	// consecutive indexes, keyed by TapIndex >> indexPageBits, so that a
	// new snapshot that differs in one binding shares all pages but one
	// with the previous snapshot.
	pages map[int]*indexPage
	all   []*Active // sorted by Name
}

// indexPageBits sets the size of an index page: 256 pointers (2 KiB), a
// cheap copy, and a map of pages 256 times smaller than the table.
const (
	indexPageBits = 8
	indexPageSize = 1 << indexPageBits
)

type indexPage [indexPageSize]*Active

// NewSnapshot builds a snapshot of the given active bindings. Later entries
// win when two share a TapIndex.
func NewSnapshot(active []*Active) *Snapshot {
	b := newSnapshotBuilder(nil)
	for _, a := range active {
		b.setIndex(a.TapIndex, a)
	}
	b.s.all = make([]*Active, 0, len(active))
	for _, a := range active {
		if b.s.lookup(a.TapIndex) == a {
			b.s.all = append(b.s.all, a)
		}
	}
	sortByName(b.s.all)
	return b.s
}

// ByIndex returns the active binding of the TAP with the given interface
// index.
func (s *Snapshot) ByIndex(ifindex int) (*Active, bool) {
	if s == nil {
		return nil, false
	}
	a := s.lookup(ifindex)
	return a, a != nil
}

func (s *Snapshot) lookup(ifindex int) *Active {
	p := s.pages[ifindex>>indexPageBits]
	if p == nil {
		return nil
	}
	return p[ifindex&(indexPageSize-1)]
}

// All returns the active bindings sorted by name. The slice must not be
// modified.
func (s *Snapshot) All() []*Active {
	if s == nil {
		return nil
	}
	return s.all
}

// Len returns the number of active bindings.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.all)
}

// A snapshotBuilder makes a new Snapshot out of a published one, copying
// only the index pages it changes; the published one is left untouched.
type snapshotBuilder struct {
	s     *Snapshot
	owned map[int]bool // pages already copied into s
}

// newSnapshotBuilder starts from the content of from, or from nothing when
// from is nil.
func newSnapshotBuilder(from *Snapshot) *snapshotBuilder {
	b := &snapshotBuilder{s: &Snapshot{}, owned: make(map[int]bool)}
	if from == nil {
		b.s.pages = make(map[int]*indexPage)
		return b
	}
	b.s.pages = maps.Clone(from.pages)
	b.s.all = slices.Clone(from.all)
	return b
}

// setIndex makes a (nil to clear) the binding of ifindex.
func (b *snapshotBuilder) setIndex(ifindex int, a *Active) {
	key := ifindex >> indexPageBits
	p := b.s.pages[key]
	if !b.owned[key] {
		if p == nil && a == nil {
			return
		}
		fresh := new(indexPage)
		if p != nil {
			*fresh = *p
		}
		p = fresh
		b.s.pages[key] = p
		b.owned[key] = true
	}
	p[ifindex&(indexPageSize-1)] = a
}
