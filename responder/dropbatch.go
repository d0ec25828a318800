package responder

import (
	"errors"
	"fmt"
	"sync"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
)

// Batching of Drop verdicts. A packet the daemon answered is dropped, and
// nobody waits for that drop: the reply is already on its way. Under load
// those verdicts are held back briefly and settled with one batch message
// (NFQNL_MSG_VERDICT_BATCH: every queued packet up to an ID), which saves
// one netlink send per answered packet. Accept verdicts are never held,
// since the packet itself waits for them.
const (
	// dropBatchGap is the inter-arrival time below which packets count as
	// a burst. Slower traffic gets its verdicts one by one, at once, and
	// never wakes a timer.
	dropBatchGap = 500 * time.Microsecond
	// dropBatchDelay bounds how long an answered packet waits in the
	// kernel's queue for its verdict.
	dropBatchDelay = 10 * time.Millisecond
	// dropBatchMax bounds how many answered packets wait at once, well
	// under the queue length.
	dropBatchMax = 64
)

// A verdictSetter is the part of a queue's netlink socket that settles
// packets; go-nfqueue's Nfqueue is one.
type verdictSetter interface {
	SetVerdict(id uint32, verdict int) error
	SetVerdictBatch(id uint32, verdict int) error
}

// A dropBatch settles the packets of one queue in arrival order, holding
// back Drop verdicts during bursts. It relies on the kernel numbering a
// queue's packets in increasing order and on every packet before a held
// one being settled already, so that a batch verdict up to the newest held
// ID settles exactly the held packets.
type dropBatch struct {
	nf    verdictSetter
	now   func() time.Time
	timer *time.Timer
	// onError reports a failed delayed flush, which has no caller to
	// return to.
	onError func(error)

	mu       sync.Mutex
	pending  int    // Drop verdicts held back
	newest   uint32 // the ID of the newest one
	lastSeen time.Time
	armed    bool // timer set to flush the pending verdicts
	closed   bool
}

func newDropBatch(nf verdictSetter, onError func(error)) *dropBatch {
	b := &dropBatch{nf: nf, now: time.Now, onError: onError}
	b.timer = time.AfterFunc(time.Hour, b.flushLater)
	b.timer.Stop()
	return b
}

// settle gives packet id its verdict: at once for Accept or outside a
// burst, else batched.
func (b *dropBatch) settle(id uint32, v Verdict) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("queue closed")
	}
	now := b.now()
	burst := now.Sub(b.lastSeen) < dropBatchGap
	b.lastSeen = now
	if v != Drop {
		// The held drops go first: a batch verdict covers every queued
		// packet up to its ID, and this one must not be among them.
		return errors.Join(b.flushLocked(), b.nf.SetVerdict(id, nfqueue.NfAccept))
	}
	if !burst && b.pending == 0 {
		return b.nf.SetVerdict(id, nfqueue.NfDrop)
	}
	b.pending++
	b.newest = id
	if b.pending >= dropBatchMax {
		return b.flushLocked()
	}
	if !b.armed {
		b.armed = true
		b.timer.Reset(dropBatchDelay)
	}
	return nil
}

// flushLater runs on the timer: the burst ended, or has lasted the
// longest a verdict may wait.
func (b *dropBatch) flushLater() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if b.closed {
		return
	}
	if err := b.flushLocked(); err != nil {
		b.onError(err)
	}
}

func (b *dropBatch) flushLocked() error {
	if b.pending == 0 {
		return nil
	}
	n, id := b.pending, b.newest
	b.pending = 0
	if err := b.nf.SetVerdictBatch(id, nfqueue.NfDrop); err != nil {
		return fmt.Errorf("drop %d packets up to ID %d: %w", n, id, err)
	}
	return nil
}

// close settles what is held and stops the batch; the socket may be
// closed after it returns.
func (b *dropBatch) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	err := b.flushLocked()
	b.closed = true
	return err
}
