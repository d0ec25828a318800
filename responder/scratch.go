package responder

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// A scratch is the memory a Handler builds its replies in, reused from one
// packet to the next so that answering allocates nothing in the steady
// state. A queue's loop hands its Handler one packet at a time, and a
// Sender must not keep a frame once Send returned, so one scratch per
// Handler suffices; the inUse flag only guards against a caller that
// shares one Handler between goroutines anyway.
type scratch struct {
	inUse atomic.Bool
	frame []byte
	// The DHCPv4 request being answered and its lease.
	dhcpv4Request packets.DHCPv4Request
	dhcpv4Lease   packets.DHCPv4Lease
	// out holds the replies of a read when the Sender can write them
	// together; nil for immediate sends.
	out *outbox
}

// acquire returns s for the caller's exclusive use, or a fresh scratch
// when another goroutine is using s right now. The caller releases it when
// the reply was sent or held (outbox.go).
func (s *scratch) acquire() *scratch {
	if s.inUse.CompareAndSwap(false, true) {
		return s
	}
	return &scratch{}
}

// release hands s back, forgetting the request it referred to so that the
// packet's memory is not kept alive until the next one.
func (s *scratch) release() {
	s.dhcpv4Request = packets.DHCPv4Request{}
	s.inUse.Store(false)
}

// keep stores frame, built by appending to s.frame[:0], so that the next
// reply reuses whatever capacity it grew to.
func (s *scratch) keep(frame []byte) { s.frame = frame[:0] }

// debug reports whether debug records are logged at all. The hot paths
// check it before building a record's attributes, which would otherwise
// allocate (strings boxed into interfaces) even for records thrown away.
func (r *Responder) debug() bool {
	return r.log.Enabled(context.Background(), slog.LevelDebug)
}
