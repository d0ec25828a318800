package control

import (
	"sync"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// A QueueRegistry remembers the queues the daemon opened, by number, so
// that the metrics can read their overflow counters. A queue reopened
// under the same number replaces the old one; one whose number left the
// configuration stays until the daemon restarts.
type QueueRegistry struct {
	mu     sync.Mutex
	queues map[uint16]*responder.Queue
}

// Add registers q under its number.
func (r *QueueRegistry) Add(q *responder.Queue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues == nil {
		r.queues = make(map[uint16]*responder.Queue)
	}
	r.queues[q.Num()] = q
}

// Overflows returns the overflow count of every queue opened, by number.
func (r *QueueRegistry) Overflows() map[uint16]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[uint16]uint64, len(r.queues))
	for num, q := range r.queues {
		m[num] = q.Overflows()
	}
	return m
}
