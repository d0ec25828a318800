package routing

import (
	"net"
	"net/netip"
)

// A Kernel is the narrow view of the host's kernel the reconciler works
// through. Netlink is the real one.
type Kernel interface {
	// Observe returns the entries the daemon owns (marked with Protocol,
	// rules also within the priority range), the current values of the
	// named sysctls (names that do not exist are left out) and the filter
	// it last set (nil when unknown).
	Observe(sysctls []string) (State, error)
	// Apply performs one op. Adding what exists and deleting what is
	// gone both succeed.
	Apply(op Op) error
	// Link describes the named interface, for announcements.
	Link(name string) (Link, error)
}

// A BatchKernel is a Kernel that can apply a run of ops together, in
// fewer kernel transactions than one per op. The reconciler hands it the
// runs for which batchable is true.
type BatchKernel interface {
	Kernel
	// ApplyBatch performs ops in order and returns one error per op.
	ApplyBatch(ops []Op) []error
}

// batchable reports whether ops are all bridge guard ops, which a
// BatchKernel applies together.
func batchable(ops []Op) bool {
	for _, op := range ops {
		switch op.Entry.(type) {
		case GuardTable, GuardElem:
		default:
			return false
		}
	}
	return true
}

// A Link is what announcing an address on an interface needs.
type Link struct {
	Index int
	MAC   net.HardwareAddr
	// LinkLocal is the interface's IPv6 link-local address, the source of
	// unsolicited NAs; invalid when it has none.
	LinkLocal netip.Addr
}

// A Sender writes complete Ethernet frames onto an interface. The
// responder's AF_PACKET sender satisfies it.
type Sender interface {
	Send(ifindex int, frame []byte) error
}
