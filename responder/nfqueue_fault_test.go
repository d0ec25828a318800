package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// A verdictLog records every verdict a queue sets, in order, and passes
// it on to the kernel.
type verdictLog struct {
	next responder.VerdictSetter
	mu   sync.Mutex
	// calls are the verdicts in order; batch ones settle every packet up
	// to their ID not settled yet.
	calls []verdictCall
}

type verdictCall struct {
	id    uint32
	batch bool
}

func (l *verdictLog) SetVerdict(id uint32, v int) error {
	l.mu.Lock()
	l.calls = append(l.calls, verdictCall{id, false})
	l.mu.Unlock()
	return l.next.SetVerdict(id, v)
}

func (l *verdictLog) SetVerdictBatch(id uint32, v int) error {
	l.mu.Lock()
	l.calls = append(l.calls, verdictCall{id, true})
	l.mu.Unlock()
	return l.next.SetVerdictBatch(id, v)
}

// check replays the verdicts over the IDs the handler saw and reports a
// packet settled twice or never.
func (l *verdictLog) check(t *testing.T, handled []uint32) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	settled := map[uint32]int{}
	for _, c := range l.calls {
		if !c.batch {
			settled[c.id]++
			continue
		}
		for _, id := range handled {
			if id <= c.id && settled[id] == 0 {
				settled[id]++
			}
		}
	}
	missing, twice := 0, 0
	for _, id := range handled {
		switch settled[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 {
		t.Errorf("of %d handled packets, %d got no verdict and %d more than one", len(handled), missing, twice)
	}
	for id := range settled {
		if !slices.Contains(handled, id) {
			t.Errorf("verdict for packet %d, which the handler never saw", id)
		}
	}
}

// queueRig runs a queue on an nfqPath with its verdicts logged and its
// reads counted; the handler drops every packet but those whose payload
// starts with "accept".
type queueRig struct {
	p        nfqPath
	q        *responder.Queue
	verdicts *verdictLog
	mu       sync.Mutex
	handled  []uint32
	reads    atomic.Int64 // receive calls that returned packets
	maxBatch atomic.Int64 // most datagrams one call returned
	done     chan error
	cancel   context.CancelFunc
}

func newQueueRig(t *testing.T, queue uint16, fault func(call int64) error) *queueRig {
	r := &queueRig{p: nfqNewPath(t, queue), done: make(chan error, 1)}
	var err error
	r.q, err = responder.OpenQueue(queue, slog.New(slog.DiscardHandler), responder.WithNetNS(int(r.p.NS)))
	if err != nil {
		t.Fatal(err)
	}
	responder.WrapQueueVerdicts(r.q, func(next responder.VerdictSetter) responder.VerdictSetter {
		r.verdicts = &verdictLog{next: next}
		return r.verdicts
	})
	var calls atomic.Int64
	responder.WrapQueueRecv(r.q, func(next responder.RecvFunc) responder.RecvFunc {
		return func(fd uintptr, msgs []unix.Mmsghdr) (int, error) {
			if fault != nil {
				if err := fault(calls.Add(1)); err != nil {
					return 0, err
				}
			}
			n, err := next(fd, msgs)
			if n > 0 {
				r.reads.Add(1)
				if int64(n) > r.maxBatch.Load() {
					r.maxBatch.Store(int64(n))
				}
			}
			return n, err
		}
	})
	return r
}

func (r *queueRig) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- r.q.Run(ctx, func(p *responder.Packet) responder.Verdict {
			r.mu.Lock()
			r.handled = append(r.handled, p.ID)
			r.mu.Unlock()
			if strings.HasPrefix(string(p.Payload[28:]), "accept") {
				return responder.Accept
			}
			return responder.Drop
		})
	}()
	// Bound once a probe reaches the handler.
	for deadline := time.Now().Add(5 * time.Second); r.handledCount() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("queue not bound within 5s")
		}
		r.p.Conn.Write([]byte("probe"))
	}
}

func (r *queueRig) handledCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled)
}

func (r *queueRig) handledIDs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.handled)
}

// burst sends n packets, every tenth one to be accepted, and returns how
// many are to be accepted.
func (r *queueRig) burst(t *testing.T, n int) int {
	accepts := 0
	for i := range n {
		msg := fmt.Sprintf("drop-%d", i)
		if i%10 == 9 {
			msg, accepts = fmt.Sprintf("accept-%d", i), accepts+1
		}
		if _, err := r.p.Conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	return accepts
}

// received counts the accepted packets reaching the listener until it
// stays silent for 300 ms.
func (r *queueRig) received() int {
	buf := make([]byte, 100)
	n := 0
	for {
		r.p.Listener.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, _, err := r.p.Listener.ReadFrom(buf); err != nil {
			return n
		}
		n++
	}
}

// queueHeld returns how many packets the kernel holds for the queue, or -1
// when nobody has the queue bound.
func queueHeld(t *testing.T, ns string, queue uint16) int {
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/netfilter/nfnetlink_queue").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == fmt.Sprint(queue) {
			var n int
			fmt.Sscan(f[2], &n)
			return n
		}
	}
	return -1
}

// TestQueueBurstOneVerdictEach sends bursts through a real queue and
// checks, from the verdicts themselves, that every packet the reader took
// got exactly one, that the reads were batched, and that the accepted
// ones, and only they, passed.
func TestQueueBurstOneVerdictEach(t *testing.T) {
	r := newQueueRig(t, 4848, nil)
	r.start(t)
	accepts := 0
	for range 3 {
		accepts += r.burst(t, 400)
	}
	if got := r.received(); got != accepts {
		t.Errorf("listener got %d packets, want the %d accepted ones", got, accepts)
	}
	if held := queueHeld(t, r.p.Near, 4848); held != 0 {
		t.Errorf("kernel still holds %d packets of the queue", held)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	handled := r.handledIDs()
	if len(handled) < 1200 {
		t.Errorf("handler saw %d packets, want at least the 1200 sent", len(handled))
	}
	r.verdicts.check(t, handled)
	if r.maxBatch.Load() < 2 {
		t.Errorf("no read returned more than one packet (%d reads for %d packets)", r.reads.Load(), len(handled))
	}
	t.Logf("%d packets in %d reads, at most %d per read", len(handled), r.reads.Load(), r.maxBatch.Load())
}

// TestQueueTransientReadErrors injects a read error before every third
// receive: the queue logs them and goes on, and no packet loses its
// verdict.
func TestQueueTransientReadErrors(t *testing.T) {
	r := newQueueRig(t, 4849, func(call int64) error {
		if call%3 == 0 {
			return unix.EIO
		}
		return nil
	})
	r.start(t)
	accepts := r.burst(t, 600)
	if got := r.received(); got != accepts {
		t.Errorf("listener got %d packets, want the %d accepted ones", got, accepts)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.verdicts.check(t, r.handledIDs())
}

// TestQueueReaderFails makes the receive call fail for good in the middle
// of a burst: Run gives up with an error naming the queue, every packet
// taken before had its verdict, and the queue is released (the kernel
// then flushes what it still held).
func TestQueueReaderFails(t *testing.T) {
	var broken atomic.Bool
	r := newQueueRig(t, 4850, func(int64) error {
		if broken.Load() {
			return unix.EBADMSG
		}
		return nil
	})
	responder.SetQueueMaxErrors(r.q, 5)
	r.start(t)
	r.burst(t, 300)
	for deadline := time.Now().Add(3 * time.Second); r.handledCount() < 100; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d packets handled", r.handledCount())
		}
	}
	broken.Store(true)
	r.burst(t, 300)
	select {
	case err := <-r.done:
		if err == nil || !strings.Contains(err.Error(), "queue 4850") || !strings.Contains(err.Error(), "5 read errors") {
			t.Errorf("Run = %v, want the read errors of queue 4850", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up on a failing reader")
	}
	r.cancel()
	r.verdicts.check(t, r.handledIDs())
	if held := queueHeld(t, r.p.Near, 4850); held != -1 {
		t.Errorf("queue still bound with %d packets after Run returned", held)
	}
}

// TestQueueShutdownSettlesHeldDrops cancels the queue right after a burst
// of drops: every packet the loop took must have its verdict when Run
// returns (drops are settled at the end of each read, and once more on
// the way out).
func TestQueueShutdownSettlesHeldDrops(t *testing.T) {
	r := newQueueRig(t, 4851, nil)
	r.start(t)
	before := r.handledCount()
	for i := range 200 {
		r.p.Conn.Write([]byte(fmt.Sprintf("drop-%d", i)))
	}
	for deadline := time.Now().Add(3 * time.Second); r.handledCount() < before+200; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 200 packets handled", r.handledCount()-before)
		}
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.verdicts.check(t, r.handledIDs())
	r.verdicts.mu.Lock()
	batches := 0
	for _, c := range r.verdicts.calls {
		if c.batch {
			batches++
		}
	}
	r.verdicts.mu.Unlock()
	t.Logf("%d verdict messages, %d of them batches, for %d packets", len(r.verdicts.calls), batches, r.handledCount())
}
