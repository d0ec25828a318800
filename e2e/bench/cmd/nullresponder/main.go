// Command nullresponder opens an NFQUEUE queue exactly as the daemon does
// and drops every packet without looking at it or answering. It is the
// floor of the load benchmark: the packet rate the kernel path alone
// (queueing, netlink copy to userspace, verdict) sustains on this machine,
// with no DHCP work at all.
//
// With -raw it reads the queue without the library (see runRaw), which
// separates the library's cost from the kernel's.
//
// It prints the number of packets it received when it gets SIGTERM or
// SIGINT, as "packets N", on standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	queue := flag.Uint("queue", 42, "NFQUEUE queue `number` to open")
	maxLen := flag.Uint("max-queue-len", 1024, "packets the kernel holds for the queue (the daemon's default)")
	raw := flag.Bool("raw", false, "read the queue without go-nfqueue: one blocking socket, batch verdicts")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	runQueue := run
	if *raw {
		runQueue = runRaw
	}
	n, err := runQueue(ctx, uint16(*queue), uint32(*maxLen), log)
	fmt.Printf("packets %d\n", n)
	if err != nil {
		log.Error("null responder failed", "error", err)
		os.Exit(1)
	}
}

// run drops every packet of the queue until ctx is done and returns how
// many it received. The queue is configured as responder.OpenQueue does
// (copy of the whole packet, fail-open, no ENOBUFS) so that the kernel
// does the same work for both.
func run(ctx context.Context, num uint16, maxLen uint32, log *slog.Logger) (uint64, error) {
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      num,
		MaxPacketLen: 0xffff,
		MaxQueueLen:  maxLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        nfqueue.NfQaCfgFlagFailOpen,
		AfFamily:     unix.AF_UNSPEC,
	})
	if err != nil {
		return 0, fmt.Errorf("nullresponder: open queue %d: %w", num, err)
	}
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		nf.Close()
		return 0, fmt.Errorf("nullresponder: queue %d: set NoENOBUFS: %w", num, err)
	}
	var count atomic.Uint64
	qctx, cancel := context.WithCancel(ctx)
	// The library's loop must see its context end before the socket
	// closes (see DEPENDENCIES.md).
	defer nf.Close()
	defer cancel()
	onPacket := func(a nfqueue.Attribute) int {
		if a.PacketID == nil {
			return 0
		}
		count.Add(1)
		if err := nf.SetVerdict(*a.PacketID, nfqueue.NfDrop); err != nil {
			log.Error("verdict failed", "error", err)
		}
		return 0
	}
	onError := func(err error) int {
		if qctx.Err() != nil {
			return 1
		}
		var opErr *netlink.OpError
		if errors.Is(err, unix.ENOBUFS) || errors.As(err, &opErr) && opErr.Timeout() {
			return 0
		}
		log.Error("reading queue failed", "error", err)
		return 0
	}
	if err := nf.RegisterWithErrorFunc(qctx, onPacket, onError); err != nil {
		return 0, fmt.Errorf("nullresponder: bind queue %d: %w", num, err)
	}
	log.Info("queue bound", "queue", num)
	<-ctx.Done()
	return count.Load(), nil
}
