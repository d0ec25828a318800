package responder

import (
	"context"
	"io"
	"log/slog"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// Replies held for the end of a read. A Source that hands over the packets
// of one read marks all but the last with Packet.More; a Handler holds its
// replies to them in its outbox and writes them all, with the last one's,
// in a single system call (sendmmsg). At 10,000 exchanges a second that
// took 28 % off the CPU per exchange (reads then bring about a dozen
// packets): one call instead of one per reply, and the VM's reader woken
// once per batch rather than preempting the daemon after every reply.
// A reply waits at most for the rest of its read to be handled (when one
// goroutine uses the handler, as each queue does; with several, another
// may write it).
//
// A held reply's outcome and reply count are counted when it is written,
// so a reply the kernel refuses still counts as an error, as an unheld one
// does. What the VM's activity records (an ACK, a lease) is recorded when
// the reply is built.

// A batchSender is a Sender that can write several frames in one call.
type batchSender interface {
	Sender
	// sendBatch writes b's frames from index from on. It returns how many
	// it wrote and, when it stopped before the end, the error of frame
	// from+n.
	sendBatch(b *frameBatch, from int) (int, error)
}

// A heldReply is what is known of a held frame's request: enough to count
// it and to name it in a log line when it cannot be sent.
type heldReply struct {
	tap       string
	what      string
	kind      Kind
	replyType uint8
	outcome   Outcome
}

// An outbox holds a Handler's replies until the end of a read.
type outbox struct {
	frames frameBatch
	held   [frameBatchMax]heldReply
	// pending is set while the packet being handled has a reply held: its
	// outcome is filled in once the handler returns.
	pending bool
}

// hold copies frame into the outbox. The caller writes the outbox first
// when it is full.
func (o *outbox) hold(ifindex int, frame []byte, h heldReply) {
	o.held[o.frames.n] = h
	o.frames.add(ifindex, frame)
	o.pending = true
}

func (o *outbox) full() bool { return o.frames.n == frameBatchMax }

// settle records the outcome of the packet just handled on its held reply.
func (o *outbox) settle(out Outcome) {
	if o.pending {
		o.held[o.frames.n-1].outcome = out
		o.pending = false
	}
}

// unhold forgets the reply held for the packet just handled (it panicked
// after holding it: its outcome is an error and its reply is not sent).
func (o *outbox) unhold() {
	if o.pending {
		o.frames.n--
		o.pending = false
	}
}

// sendHeld writes the held replies and counts them.
func (r *Responder) sendHeld(o *outbox) {
	// Emptied whatever happens below, so that no frame is written twice.
	defer func() { o.frames.n = 0 }()
	bs, ok := r.sender.(batchSender)
	if !ok {
		return
	}
	for from := 0; from < o.frames.n; {
		n, err := bs.sendBatch(&o.frames, from)
		if n == 0 && err == nil {
			err = io.ErrShortWrite // never expected; it must not loop
		}
		for _, h := range o.held[from : from+n] {
			r.Stats.countReply(h.kind, h.replyType)
			r.Stats.count(h.kind, h.outcome)
		}
		from += n
		if err != nil && from < o.frames.n {
			h := o.held[from]
			r.Stats.count(h.kind, OutcomeError)
			r.logSendFailed(h, err)
			from++
		}
	}
}

// sendReply writes frame, a reply to the packet being handled, onto a's
// TAP, or holds it in sc's outbox until the end of the read; held says
// which. h describes the reply for the count and the log.
func (r *Responder) sendReply(sc *scratch, a *binding.Active, frame []byte, h heldReply) (held bool, err error) {
	if sc.out == nil || len(frame) < 14 {
		return false, r.sender.Send(a.TapIndex, frame)
	}
	if sc.out.full() {
		r.sendHeld(sc.out)
	}
	sc.out.hold(a.TapIndex, frame, h)
	return true, nil
}

// logSendFailed logs a held reply the kernel refused, with the line an
// unheld one of its kind gets.
func (r *Responder) logSendFailed(h heldReply, err error) {
	if h.kind == KindDHCPv4 {
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "cannot send DHCPv4 reply",
			slog.String("TAP", h.tap), slog.String("MSG", h.what), slog.Any("err", err))
		return
	}
	r.log.LogAttrs(context.Background(), slog.LevelError, "sending reply failed",
		slog.String("TAP", h.tap), slog.String("REPLY", h.what), slog.Any("error", err))
}
