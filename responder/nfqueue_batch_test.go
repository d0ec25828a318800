package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// TestQueueBurstOfDrops sends a burst of packets the handler drops, then
// one it accepts, through a real queue. The drops are settled in batches:
// none may reach the listener, the accepted one must, and the kernel must
// hold no packet of the queue afterwards.
func TestQueueBurstOfDrops(t *testing.T) {
	const burst = 500
	p := nfqNewPath(t, 4747)
	q, err := responder.OpenQueue(p.Queue, slog.New(slog.DiscardHandler), responder.WithNetNS(int(p.NS)))
	if err != nil {
		t.Fatal(err)
	}
	var dropped atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Run(ctx, func(p *responder.Packet) responder.Verdict {
			if strings.HasPrefix(string(p.Payload[28:]), "accept") {
				return responder.Accept
			}
			dropped.Add(1)
			return responder.Drop
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Wait until the queue is bound: a probe is dropped, so it is seen
	// only through the handler.
	for deadline := time.Now().Add(5 * time.Second); dropped.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("queue not bound within 5s")
		}
		p.Conn.Write([]byte("probe"))
	}
	before := dropped.Load()
	for i := range burst {
		if _, err := p.Conn.Write([]byte(fmt.Sprintf("drop-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Conn.Write([]byte("accept-last")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	p.Listener.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := p.Listener.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "accept-last" {
		t.Fatalf("first packet through the queue: %q, %v; want accept-last", buf[:n], err)
	}
	if got := dropped.Load() - before; got != burst {
		t.Errorf("handler dropped %d packets of the burst, want %d", got, burst)
	}
	// Nothing stays queued: each read's drops were settled at its end (the
	// sleep is slack for the last one).
	time.Sleep(50 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", p.Near, "cat", "/proc/net/netfilter/nfnetlink_queue").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == fmt.Sprint(p.Queue) && f[2] != "0" {
			t.Errorf("queue %d still holds %s packets: %s", p.Queue, f[2], line)
		}
	}
}
