package responder

import (
	"errors"
	"fmt"

	nfqueue "github.com/florianl/go-nfqueue/v2"
)

// Batching of Drop verdicts. A packet the daemon answered is dropped, and
// nobody waits for that drop: the reply is already on its way. So the
// drops of one read (up to readBatch packets taken by one recvmmsg) are
// held until the read is served and then settled with one batch message
// (NFQNL_MSG_VERDICT_BATCH: every queued packet up to an ID). Under load a
// read brings many packets and the batch saves a netlink send for each;
// at low rates a read brings one packet and it is settled at once, as
// before. No timer is involved: a timer armed per packet costs a wake-up
// of the runtime's poller, which at low rates costs more than the verdict
// (issue 18's profile). Accept verdicts are never held, since the packet
// itself waits for them.

// dropBatchMax bounds how many answered packets wait at once, well under
// the queue length. A read takes at most readBatch datagrams, but one
// datagram may carry several packets.
const dropBatchMax = readBatch

// A verdictSetter is what settles a queue's packets: the queue's own
// verdictWriter, or a recording one in tests.
type verdictSetter interface {
	SetVerdict(id uint32, verdict int) error
	SetVerdictBatch(id uint32, verdict int) error
}

// A dropBatch settles the packets of one queue in arrival order, holding
// back Drop verdicts until the end of the read. It relies on the kernel
// numbering a queue's packets in increasing order and on every packet
// before a held one being settled already, so that a batch verdict up to
// the newest held ID settles exactly the held packets. It belongs to the
// queue's read loop and is not safe for concurrent use.
type dropBatch struct {
	nf      verdictSetter
	pending int    // Drop verdicts held back
	newest  uint32 // the ID of the newest one
	closed  bool
}

func newDropBatch(nf verdictSetter) *dropBatch {
	return &dropBatch{nf: nf}
}

// settle gives packet id its verdict: at once for Accept, else held until
// endOfRead.
func (b *dropBatch) settle(id uint32, v Verdict) error {
	if b.closed {
		return errors.New("queue closed")
	}
	if v != Drop {
		// The held drops go first: a batch verdict covers every queued
		// packet up to its ID, and this one must not be among them.
		return errors.Join(b.flush(), b.nf.SetVerdict(id, nfqueue.NfAccept))
	}
	b.pending++
	b.newest = id
	if b.pending >= dropBatchMax {
		return b.flush()
	}
	return nil
}

// endOfRead settles the drops held while the read was served: one packet
// with a plain verdict, several with one batch verdict.
func (b *dropBatch) endOfRead() error {
	return b.flush()
}

func (b *dropBatch) flush() error {
	switch b.pending {
	case 0:
		return nil
	case 1:
		b.pending = 0
		if err := b.nf.SetVerdict(b.newest, nfqueue.NfDrop); err != nil {
			return fmt.Errorf("drop packet %d: %w", b.newest, err)
		}
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
	err := b.flush()
	b.closed = true
	return err
}
