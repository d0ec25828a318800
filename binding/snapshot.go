package binding

import "net"

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
	byIndex map[int]*Active
	all     []*Active // sorted by Name
}

// NewSnapshot builds a snapshot of the given active bindings. Later entries
// win when two share a TapIndex.
func NewSnapshot(active []*Active) *Snapshot {
	s := &Snapshot{byIndex: make(map[int]*Active, len(active)), all: make([]*Active, 0, len(active))}
	for _, a := range active {
		s.byIndex[a.TapIndex] = a
	}
	for _, a := range active {
		if s.byIndex[a.TapIndex] == a {
			s.all = append(s.all, a)
		}
	}
	sortByName(s.all)
	return s
}

// ByIndex returns the active binding of the TAP with the given interface
// index.
func (s *Snapshot) ByIndex(ifindex int) (*Active, bool) {
	if s == nil {
		return nil, false
	}
	a, ok := s.byIndex[ifindex]
	return a, ok
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
