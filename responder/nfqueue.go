package responder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
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
type Queue struct {
	num  uint16
	nf   *nfqueue.Nfqueue
	log  *slog.Logger
	used atomic.Bool
	// overflows counts the socket overflows (ENOBUFS) the kernel reported.
	overflows atomic.Uint64
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
	q := &Queue{num: num, nf: nf, log: log.With("QUEUE", int(num))}
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
// queue before returning, so a Queue runs once.
//
// On the way out, packets the loop already took get their verdicts before
// the socket is closed; packets still waiting in the kernel are flushed by
// it when the socket closes (dropped, or accepted by a --queue-bypass rule
// once nobody listens). DHCP and ND clients retry.
func (q *Queue) Run(ctx context.Context, handle func(*Packet) Verdict) error {
	if q.used.Swap(true) {
		return fmt.Errorf("responder: queue %d: Run called twice", q.num)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The library calls onPacket and onError from its one receive
	// goroutine. stopped is closed when that loop is known to end; closed,
	// under mu, tells a late onPacket that the socket is gone.
	var (
		mu       sync.Mutex
		closed   bool
		errCount int
		stopped  = make(chan struct{})
		stopOnce sync.Once
		failed   = make(chan error, 1)
	)
	stop := func() { stopOnce.Do(func() { close(stopped) }) }
	onError := func(err error) int {
		if ctx.Err() != nil {
			stop()
			return 1
		}
		var opErr *netlink.OpError
		switch {
		case errors.Is(err, unix.ENOBUFS):
			q.overflows.Add(1)
			q.log.Warn("queue overflow, kernel dropped/accepted packets", "error", err)
			return 0
		case errors.As(err, &opErr) && opErr.Timeout():
			return 0
		}
		errCount++
		q.log.Error("reading queue failed", "error", err)
		if errCount >= maxConsecutiveErrors {
			failed <- fmt.Errorf("responder: queue %d: %d read errors in a row, last: %w", q.num, errCount, err)
			stop()
			return 1
		}
		return 0
	}
	verdicts := newDropBatch(q.nf, func(err error) {
		q.log.Error("setting verdicts failed", "error", err)
	})
	onPacket := func(a nfqueue.Attribute) int {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return 1
		}
		errCount = 0
		q.serve(a, handle, verdicts)
		return 0
	}
	if err := q.nf.RegisterWithErrorFunc(ctx, onPacket, onError); err != nil {
		q.nf.Close()
		return fmt.Errorf("responder: bind queue %d: %w", q.num, err)
	}
	q.log.Debug("queue bound")
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	// The library's receive loop must see its context end before the
	// socket is closed (otherwise its error function is fed the errors of
	// a closed socket), and the packets it holds need the socket for their
	// verdicts. The loop ends through onError, or silently after finishing
	// a batch: wait for the first, bounded for the second.
	cancel()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	if ferr := verdicts.close(); ferr != nil {
		q.log.Error("setting verdicts on the way out failed", "error", ferr)
	}
	q.nf.Close()
	return err
}

// stopGrace bounds how long Run waits for the receive loop to finish the
// packets it holds before closing the socket.
const stopGrace = 200 * time.Millisecond

// serve hands one queued packet to handle and settles it through
// verdicts, whatever happens in between.
func (q *Queue) serve(a nfqueue.Attribute, handle func(*Packet) Verdict, verdicts *dropBatch) {
	if a.PacketID == nil {
		q.log.Error("queued packet without an ID: no verdict possible")
		return
	}
	id := *a.PacketID
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
	p := packetFromAttribute(id, a)
	v = handle(&p)
}

// packetFromAttribute converts the library's attribute, whose fields are
// nil when the kernel did not send them, into a Packet. The library already
// gives each packet its own copy of the payload, so it is not copied again.
func packetFromAttribute(id uint32, a nfqueue.Attribute) Packet {
	p := Packet{ID: id}
	if a.InDev != nil {
		p.InIndex = int(*a.InDev)
	}
	if a.PhysInDev != nil {
		p.PhysInIndex = int(*a.PhysInDev)
	}
	if a.HwAddr != nil && len(*a.HwAddr) >= 6 {
		p.HwAddr = net.HardwareAddr((*a.HwAddr)[:6])
	}
	if a.Payload != nil {
		p.Payload = *a.Payload
	}
	return p
}
