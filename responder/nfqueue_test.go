package responder_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// nfqSeen is what the handler learnt of one queued packet.
type nfqSeen struct {
	Payload     string
	InIndex     int
	PhysInIndex int
	HwAddr      string
}

// TestQueueVerdicts sends UDP packets to port 67 through a real NFQUEUE
// rule and checks that each reaches the handler with its interfaces and
// that the verdict decides whether the listening socket gets it.
func TestQueueVerdicts(t *testing.T) {
	const queueNum = 4242
	p := nfqNewPath(t, queueNum)
	near0 := nfqInterface(t, p.Near, "near0")
	far0 := nfqInterface(t, p.Far, "far0")
	q, err := responder.OpenQueue(queueNum, slog.New(slog.DiscardHandler), responder.WithNetNS(int(p.NS)))
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	if q.Num() != queueNum {
		t.Errorf("Num() = %d, want %d", q.Num(), queueNum)
	}

	var mu sync.Mutex
	var seen []nfqSeen
	handle := func(pkt *responder.Packet) responder.Verdict {
		mu.Lock()
		defer mu.Unlock()
		// The payload starts at the IPv4 header (20 bytes here), then UDP (8).
		seen = append(seen, nfqSeen{Payload: string(pkt.Payload[28:]), InIndex: pkt.InIndex, PhysInIndex: pkt.PhysInIndex, HwAddr: pkt.HwAddr.String()})
		if strings.HasPrefix(string(pkt.Payload[28:]), "drop") {
			return responder.Drop
		}
		if strings.HasPrefix(string(pkt.Payload[28:]), "panic") {
			panic("handler failure")
		}
		return responder.Accept
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- q.Run(ctx, handle) }()
	defer func() {
		cancel()
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	}()

	// Registration is asynchronous to Run's start: resend the first packet
	// until the handler has seen it, and the queue is surely bound.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := p.Conn.Write([]byte("drop-1")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no packet reached the handler within 5s")
		}
	}
	for _, msg := range []string{"panic-2", "accept-3"} {
		if _, err := p.Conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}

	var received []string
	buf := make([]byte, 1500)
	p.Listener.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, _, err := p.Listener.ReadFrom(buf)
		if err != nil {
			t.Fatalf("listener got %q, then: %v", received, err)
		}
		received = append(received, string(buf[:n]))
		if string(buf[:n]) == "accept-3" {
			break
		}
	}
	// A panic outside the Handler's own recovery accepts the packet: the
	// daemon stays invisible and still sets exactly one verdict.
	if diff := cmp.Diff([]string{"panic-2", "accept-3"}, received); diff != "" {
		t.Errorf("packets that passed the queue (-want +got):\n%s", diff)
	}

	mu.Lock()
	defer mu.Unlock()
	want := nfqSeen{InIndex: near0.Index, HwAddr: far0.HardwareAddr.String()}
	for i, s := range seen {
		if !strings.HasPrefix(s.Payload, "drop-1") && i < len(seen)-2 {
			t.Errorf("packet %d = %q, want a drop-1 retry", i, s.Payload)
		}
		w := want
		w.Payload = s.Payload
		if diff := cmp.Diff(w, s); diff != "" {
			t.Errorf("packet %d (-want +got):\n%s", i, diff)
		}
	}
	if n := len(seen); n < 3 || seen[n-2].Payload != "panic-2" || seen[n-1].Payload != "accept-3" {
		t.Errorf("handler saw %v, want drop-1 retries then panic-2, accept-3", seen)
	}
}

// TestQueueRunOnce checks that a Queue refuses a second Run and that
// Close after an unused open releases it.
func TestQueueRunOnce(t *testing.T) {
	l := nfqNewLink(t)
	ns, err := netns.GetFromName(l.Near)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	q, err := responder.OpenQueue(4343, slog.New(slog.DiscardHandler), responder.WithNetNS(int(ns)), responder.WithMaxQueueLen(16))
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, func(*responder.Packet) responder.Verdict { return responder.Accept }) }()
	time.Sleep(100 * time.Millisecond)
	if err := q.Run(ctx, nil); err == nil || !strings.Contains(err.Error(), "queue 4343") {
		t.Errorf("second Run error = %v, want one naming queue 4343", err)
	}
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}

	// The same queue number can be bound again once the first is closed.
	q2, err := responder.OpenQueue(4343, slog.New(slog.DiscardHandler), responder.WithNetNS(int(ns)))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := q2.Close(); err != nil {
		t.Errorf("Close of an unused queue: %v", err)
	}
}

// TestQueueVerdictDuringShutdown checks that a packet being handled when
// the context ends still gets its verdict: the socket is closed only after
// the handler returns.
func TestQueueVerdictDuringShutdown(t *testing.T) {
	p := nfqNewPath(t, 4545)
	q, err := responder.OpenQueue(p.Queue, slog.New(slog.DiscardHandler), responder.WithNetNS(int(p.NS)))
	if err != nil {
		t.Fatal(err)
	}

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Run(ctx, func(*responder.Packet) responder.Verdict {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return responder.Accept
		})
	}()
	// Resend until the queue is bound and the handler holds a packet.
	for held := false; !held; {
		p.Conn.Write([]byte("in flight"))
		select {
		case <-entered:
			held = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	buf := make([]byte, 100)
	p.Listener.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := p.Listener.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "in flight" {
		t.Errorf("packet handled during shutdown: got %q, %v; want it accepted", buf[:n], err)
	}
}
