// Command nullresponder opens an NFQUEUE queue exactly as the daemon does
// and drops every packet without looking at it or answering. It is the
// floor of the load benchmark: the packet rate the kernel path and the
// daemon's own queue reader (batched reads, batched drop verdicts) sustain
// on this machine, with no DHCP work at all.
//
// It prints the number of packets it received when it gets SIGTERM or
// SIGINT, as "packets N", on standard output.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

func main() {
	queue := flag.Uint("queue", 42, "NFQUEUE queue `number` to open")
	maxLen := flag.Uint("max-queue-len", 1024, "packets the kernel holds for the queue (the daemon's default)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	n, err := run(ctx, uint16(*queue), uint32(*maxLen), log)
	fmt.Printf("packets %d\n", n)
	if err != nil {
		log.Error("null responder failed", "error", err)
		os.Exit(1)
	}
}

// run drops every packet of the queue until ctx is done and returns how
// many it received. It reads the queue through the daemon's own
// responder.Queue (the same setup, the same batched reads and drop
// verdicts), so that the only difference from the daemon is the DHCP
// work.
func run(ctx context.Context, num uint16, maxLen uint32, log *slog.Logger) (uint64, error) {
	q, err := responder.OpenQueue(num, log, responder.WithMaxQueueLen(maxLen))
	if err != nil {
		return 0, fmt.Errorf("nullresponder: %w", err)
	}
	var count atomic.Uint64
	log.Info("binding queue", "queue", num)
	err = q.Run(ctx, func(*responder.Packet) responder.Verdict {
		count.Add(1)
		return responder.Drop
	})
	return count.Load(), err
}
