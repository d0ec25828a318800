package responder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DefaultMaxQueueLen is how many packets the kernel holds for a queue
// before it applies the fail-open policy: room for a burst of a thousand
// VMs booting at once, at a few hundred bytes each.
const DefaultMaxQueueLen = 1024

// maxConsecutiveErrors is how many socket errors in a row, with no packet
// in between, make a queue give up instead of logging forever.
const maxConsecutiveErrors = 1000

// A Queue is a Source reading one NFQUEUE queue of the host's (or the
// calling thread's) network namespace.
//
// The queue is configured fail-open: when it is full the kernel accepts
// the packets it cannot queue instead of dropping them. The trade-off is
// that under overload some bootstrap requests escape to the bridge or the
// uplink rather than being lost; a DHCP server elsewhere on the segment
// could then answer them, but a VM never hangs because the daemon is slow.
// Bypass while the daemon is not running at all is the rule's
// --queue-bypass, not a queue setting.
//
// go-nfqueue opens the socket; the queue's setup, the receive path
// (nfqread.go) and the verdicts (verdict.go) are this package's own,
// because the library ties its setup to a per-packet read loop of its own
// and its verdicts cost a runtime wake-up each.
type Queue struct {
	num  uint16
	cfg  nfqueue.Config
	nf   *nfqueue.Nfqueue
	log  *slog.Logger
	used atomic.Bool
	// overflows counts the socket overflows (ENOBUFS) the kernel reported.
	overflows atomic.Uint64

	// Test seams: the receive system call, the verdict setter and how many
	// read errors in a row end Run.
	recv      func(fd uintptr, msgs []unix.Mmsghdr) (int, error)
	verdicts  verdictSetter
	maxErrors int
}

// A QueueOption changes how OpenQueue sets a queue up.
type QueueOption func(*nfqueue.Config)

// WithMaxQueueLen sets how many packets the kernel holds for the queue.
func WithMaxQueueLen(n uint32) QueueOption {
	return func(c *nfqueue.Config) { c.MaxQueueLen = n }
}

// WithNetNS opens the queue in the network namespace of the file
// descriptor fd instead of the calling thread's.
func WithNetNS(fd int) QueueOption {
	return func(c *nfqueue.Config) { c.NetNS = fd }
}

// OpenQueue opens the netlink socket of queue num. The queue is bound,
// and starts taking packets, when Run is called.
func OpenQueue(num uint16, log *slog.Logger, opts ...QueueOption) (*Queue, error) {
	cfg := nfqueue.Config{
		NfQueue:      num,
		MaxPacketLen: 0xffff,
		MaxQueueLen:  DefaultMaxQueueLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		// No NfQaCfgFlagGSO: the kernel then hands over whole packets with
		// complete checksums, which is what the decoders expect.
		Flags:    nfqueue.NfQaCfgFlagFailOpen,
		AfFamily: unix.AF_UNSPEC,
	}
	for _, o := range opts {
		o(&cfg)
	}
	nf, err := nfqueue.Open(&cfg)
	if err != nil {
		return nil, fmt.Errorf("responder: open queue %d: %w", num, err)
	}
	// Without NoENOBUFS a socket buffer overflow comes back as a read
	// error; with it the kernel quietly applies the queue's policy to what
	// did not fit (fail-open: accepts it).
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		nf.Close()
		return nil, fmt.Errorf("responder: queue %d: set NoENOBUFS: %w", num, err)
	}
	rc, err := nf.Con.SyscallConn()
	if err != nil {
		nf.Close()
		return nil, fmt.Errorf("responder: queue %d: raw socket: %w", num, err)
	}
	q := &Queue{num: num, cfg: cfg, nf: nf, log: log.With("QUEUE", int(num)),
		recv: recvmmsg, verdicts: newVerdictWriter(rc, num), maxErrors: maxConsecutiveErrors}
	if err := setReceiveBuffer(nf.Con, receiveBufferSize); err != nil {
		q.log.Warn("could not enlarge the queue's socket buffer; bursts may bypass the daemon", "error", err)
	}
	return q, nil
}

// receiveBufferSize is the queue socket's receive buffer: the default
// (about 200 KiB) holds only a hundred or so queued packets, far fewer than
// the queue length, so a burst would overflow the socket long before the
// queue.
const receiveBufferSize = 4 << 20

// setReceiveBuffer sets the socket's receive buffer to n bytes, beyond
// net.core.rmem_max when the process has CAP_NET_ADMIN (SO_RCVBUFFORCE),
// else as far as rmem_max allows.
func setReceiveBuffer(c *netlink.Conn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		if serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Close releases a queue that was opened but will not be run. Once Run
// has started, Run closes the queue itself when its context ends.
func (q *Queue) Close() error {
	if q.used.Swap(true) {
		return nil
	}
	return q.nf.Close()
}

// Num returns the queue number.
func (q *Queue) Num() uint16 { return q.num }

// Overflows returns how many times the kernel reported that the queue's
// socket overflowed (ENOBUFS). With NoENOBUFS set the kernel mostly stays
// silent and applies the fail-open policy instead; its own drop counters
// are in /proc/net/netfilter/nfnetlink_queue.
func (q *Queue) Overflows() uint64 { return q.overflows.Load() }

// Run binds the queue, calls handle for every packet until ctx is done and
// sets the verdict handle returns, exactly once per packet. It closes the
// queue before returning, so a Queue runs once. The Packet's slices are
// valid only during the call to handle.
//
// On the way out, packets the loop already took get their verdicts before
// the socket is closed; packets still waiting in the kernel are flushed by
// it when the socket closes (dropped, or accepted by a --queue-bypass rule
// once nobody listens). DHCP and ND clients retry.
func (q *Queue) Run(ctx context.Context, handle func(*Packet) Verdict) error {
	if q.used.Swap(true) {
		return fmt.Errorf("responder: queue %d: Run called twice", q.num)
	}
	defer q.nf.Close()
	rc, err := q.nf.Con.SyscallConn()
	if err != nil {
		return fmt.Errorf("responder: queue %d: raw socket: %w", q.num, err)
	}
	if err := q.bind(); err != nil {
		return fmt.Errorf("responder: bind queue %d: %w", q.num, err)
	}
	q.log.Debug("queue bound")
	verdicts := newDropBatch(q.verdicts)
	// A read deadline in the past wakes the blocked read when ctx ends;
	// the packets of the batch in hand are still served.
	stopRead := context.AfterFunc(ctx, func() { q.nf.Con.SetReadDeadline(time.Unix(1, 0)) })
	defer stopRead()

	r := newBatchReader(rc)
	r.recv = q.recv
	var (
		rs       readState
		errCount int
		runErr   error
	)
	for ctx.Err() == nil {
		if err := r.read(); err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, unix.ENOBUFS) {
				q.overflows.Add(1)
				q.log.Warn("queue overflow, kernel dropped/accepted packets", "error", err)
				continue
			}
			errCount++
			q.log.Error("reading queue failed", "error", err)
			if errCount >= q.maxErrors {
				runErr = fmt.Errorf("responder: queue %d: %d read errors in a row, last: %w", q.num, errCount, err)
				break
			}
			continue
		}
		errCount = 0
		q.serveRead(r, &rs, handle, verdicts)
		if err := verdicts.endOfRead(); err != nil {
			q.log.Error("setting verdicts failed", "error", err)
		}
	}
	if ferr := verdicts.close(); ferr != nil {
		q.log.Error("setting verdicts on the way out failed", "error", ferr)
	}
	return runErr
}

// bind sends the queue's setup to the kernel, as go-nfqueue's
// RegisterWithErrorFunc would but without its read loop: unbind and bind
// the address family (no-ops since Linux 3.8, kept for older kernels),
// bind the queue, whole-packet copy mode, the flags and the queue length.
// A packet queued before the setup is acknowledged is accepted at once.
func (q *Queue) bind() error {
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	family := q.cfg.AfFamily
	steps := []struct {
		what    string
		queue   uint16
		attrs   []byte
		mayFail bool
	}{
		{"unbind family", 0, appendAttr(nil, nfqAttrCfgCmd, []byte{nfqCmdPfUnbind, 0, 0, family}), true},
		{"bind family", 0, appendAttr(nil, nfqAttrCfgCmd, []byte{nfqCmdPfBind, 0, 0, family}), false},
		{"bind queue", q.num, appendAttr(nil, nfqAttrCfgCmd, []byte{nfqCmdBind, 0, 0, family}), false},
		{"copy mode", q.num, appendAttr(nil, nfqAttrCfgParams, be32(q.cfg.MaxPacketLen), []byte{byte(q.cfg.Copymode)}), false},
		{"flags and queue length", q.num, appendAttr(appendAttr(appendAttr(nil,
			nfqAttrCfgFlags, be32(q.cfg.Flags)),
			nfqAttrCfgMask, be32(q.cfg.Flags)),
			nfqAttrCfgMaxLen, be32(q.cfg.MaxQueueLen)), false},
	}
	if err := q.nf.Con.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	defer q.nf.Con.SetReadDeadline(time.Time{})
	for _, s := range steps {
		err := q.configure(s.queue, s.attrs)
		if err != nil && !s.mayFail {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// configure sends one config message and waits for its acknowledgement.
func (q *Queue) configure(queue uint16, attrs []byte) error {
	data := []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, byte(queue >> 8), byte(queue)}
	req, err := q.nf.Con.Send(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(nfnlSubsysQueue<<8 | nfqMsgConfig),
			Flags: netlink.Request | netlink.Acknowledge,
		},
		Data: append(data, attrs...),
	})
	if err != nil {
		return err
	}
	for {
		msgs, err := q.nf.Con.Receive()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			switch {
			case m.Header.Type == netlink.Error && m.Header.Sequence == req.Header.Sequence:
				return nil // an ack; a refusal came back as err above
			case m.Header.Type == nfqPacketMsgType && len(m.Data) > nfgenHeaderLen:
				var p queuedPacket
				if parsePacket(m.Data[nfgenHeaderLen:], &p) {
					if err := q.verdicts.SetVerdict(p.ID, nfqueue.NfAccept); err != nil {
						q.log.Error("setting verdict failed", "ID", p.ID, "error", err)
					}
				}
			}
		}
	}
}

// readState is the memory serveRead reuses from one read to the next.
type readState struct {
	qp, next queuedPacket
	p        Packet // handle's argument escapes
}

// serveRead serves the packets of the read in r, in order. One packet of
// look-ahead tells the handler whether more of this read follow
// (Packet.More), so that it may hold its replies until the read's last.
// Packets too large to read are let through unread (serve) as soon as
// they are met, ahead of the packet before them, so that the last packet
// the handler sees is marked as such.
func (q *Queue) serveRead(r *batchReader, rs *readState, handle func(*Packet) Verdict, verdicts *dropBatch) {
	have := r.next(&rs.qp)
	for have {
		more := r.next(&rs.next)
		for more && rs.next.Truncated {
			q.serve(&rs.next, false, &rs.p, handle, verdicts)
			more = r.next(&rs.next)
		}
		q.serve(&rs.qp, more, &rs.p, handle, verdicts)
		rs.qp, have = rs.next, more
	}
}

// serve hands one queued packet to handle and settles it through
// verdicts, whatever happens in between.
func (q *Queue) serve(qp *queuedPacket, more bool, p *Packet, handle func(*Packet) Verdict, verdicts *dropBatch) {
	id := qp.ID
	// The Handler drops a bound TAP's packet itself even when it panics; a
	// panic that escapes it happened before any binding was known, and
	// accepting keeps the daemon invisible.
	v := Accept
	defer func() {
		if e := recover(); e != nil {
			q.log.Error("panic while handling packet", "ID", id, "panic", fmt.Sprint(e))
			v = Accept
		}
		if err := verdicts.settle(id, v); err != nil {
			q.log.Error("setting verdict failed", "ID", id, "verdict", v.String(), "error", err)
		}
	}()
	if qp.Truncated {
		// Too large for the read buffer, so not a request the daemon
		// answers: let it go on its way unread.
		return
	}
	*p = Packet{ID: id, InIndex: int(qp.InDev), PhysInIndex: int(qp.PhysInDev), Payload: qp.Payload, More: more}
	if len(qp.HwAddr) >= 6 {
		p.HwAddr = net.HardwareAddr(qp.HwAddr[:6])
	}
	v = handle(p)
}
