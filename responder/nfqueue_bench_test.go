package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// BenchmarkQueueRoundTrip measures one packet's trip through a real
// NFQUEUE: taken from the kernel, handed to a trivial handler, verdict
// set. Packets are sent in windows of 32 so that the queue never
// overflows (fail-open would let packets bypass the handler).
func BenchmarkQueueRoundTrip(b *testing.B) {
	l := nfqNewLink(b)
	const queueNum = 4444
	netnstest.Run(b, "ip", "netns", "exec", l.Near, "iptables", "-t", "mangle", "-A", "PREROUTING",
		"-i", "near0", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queueNum))
	ns, err := netns.GetFromName(l.Near)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	q, err := responder.OpenQueue(queueNum, slog.New(slog.DiscardHandler), responder.WithNetNS(int(ns)))
	if err != nil {
		b.Fatal(err)
	}
	var seen atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Run(ctx, func(*responder.Packet) responder.Verdict { seen.Add(1); return responder.Drop })
	}()
	defer func() { cancel(); <-done }()

	var conn net.Conn
	netnstest.InNS(b, l.Far, func() {
		conn, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 68}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67})
	})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// Wait for the queue to be bound.
	for deadline := time.Now().Add(5 * time.Second); seen.Load() == 0; {
		conn.Write([]byte("warm-up"))
		time.Sleep(10 * time.Millisecond)
		if time.Now().After(deadline) {
			b.Fatal("queue never delivered")
		}
	}
	payload := make([]byte, 300) // a DHCP DISCOVER's size
	b.ResetTimer()
	base := seen.Load()
	for sent := 0; sent < b.N; {
		w := min(32, b.N-sent)
		for i := 0; i < w; i++ {
			conn.Write(payload)
		}
		sent += w
		for deadline := time.Now().Add(5 * time.Second); seen.Load()-base < int64(sent); {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d packets reached the handler", seen.Load()-base, sent)
			}
			runtime.Gosched()
		}
	}
}

// BenchmarkSenderSend measures writing one 342-byte frame (a DHCP reply's
// size) onto a veth with the shared AF_PACKET socket.
func BenchmarkSenderSend(b *testing.B) {
	l := nfqNewLink(b)
	var near0 *net.Interface
	var s *responder.PacketSender
	var err error
	netnstest.InNS(b, l.Near, func() {
		if near0, err = net.InterfaceByName("near0"); err == nil {
			s, err = responder.NewSender()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	frame := senderTestFrame([]byte{2, 0, 0, 0, 0, 1}, near0.HardwareAddr, string(make([]byte, 328)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Send(near0.Index, frame); err != nil {
			// The veth's queue may be momentarily full: that is the
			// non-blocking contract, not a failure of the benchmark.
			continue
		}
	}
}
