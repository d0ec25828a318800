package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// TestQueueBurstOfDrops sends a burst of packets the handler drops, then
// one it accepts, through a real queue. The drops are settled in batches:
// none may reach the listener, the accepted one must, and the kernel must
// hold no packet of the queue afterwards.
func TestQueueBurstOfDrops(t *testing.T) {
	l := nfqNewLink(t)
	const queueNum, burst = 4747, 500
	nfqRun(t, "ip", "netns", "exec", l.Near, "iptables", "-t", "mangle", "-A", "PREROUTING",
		"-i", "near0", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queueNum))
	var listener net.PacketConn
	var conn net.Conn
	var err error
	nfqInNS(t, l.Near, func() { listener, err = net.ListenPacket("udp4", "192.0.2.1:67") })
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	nfqInNS(t, l.Far, func() {
		conn, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 68}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ns, err := netns.GetFromName(l.Near)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	q, err := responder.OpenQueue(queueNum, slog.New(slog.DiscardHandler), responder.WithNetNS(int(ns)))
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
		conn.Write([]byte("probe"))
	}
	before := dropped.Load()
	for i := range burst {
		if _, err := conn.Write([]byte(fmt.Sprintf("drop-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write([]byte("accept-last")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	listener.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := listener.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "accept-last" {
		t.Fatalf("first packet through the queue: %q, %v; want accept-last", buf[:n], err)
	}
	if got := dropped.Load() - before; got != burst {
		t.Errorf("handler dropped %d packets of the burst, want %d", got, burst)
	}
	// Nothing stays queued once the batch timer has run.
	time.Sleep(50 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", l.Near, "cat", "/proc/net/netfilter/nfnetlink_queue").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == fmt.Sprint(queueNum) && f[2] != "0" {
			t.Errorf("queue %d still holds %s packets: %s", queueNum, f[2], line)
		}
	}
}
