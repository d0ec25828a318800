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
// fewer kernel transactions or system calls than one per op. The
// reconciler hands it runs of ops of one batch kind.
type BatchKernel interface {
	Kernel
	// ApplyBatch performs ops in order and returns one error per op.
	ApplyBatch(ops []Op) []error
}

// The kinds of ops a BatchKernel takes in runs.
const (
	batchNone   = iota
	batchGuard  // bridge guard ops: nftables transactions of many elements
	batchRtnl   // rules, routes, proxy neighbours: rtnetlink requests sent many to a write
	batchSysctl // sysctls: written in one visit to the namespace
)

// batchKind returns the batch kind of op.
func batchKind(op Op) int {
	switch op.Entry.(type) {
	case GuardTable, GuardElem:
		return batchGuard
	case Rule, Route, ProxyNeigh:
		return batchRtnl
	case Sysctl:
		return batchSysctl
	}
	return batchNone
}

// batchable reports whether ops are all of the batch kind kind.
func batchable(ops []Op, kind int) bool {
	for _, op := range ops {
		if batchKind(op) != kind {
			return false
		}
	}
	return kind != batchNone
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
