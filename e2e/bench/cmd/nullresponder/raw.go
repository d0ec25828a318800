package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nfdhcpd/nfdhcpd/e2e/bench/internal/nfqraw"
)

// runRaw is run without the library: one blocking netlink socket read by
// one thread, every batch of queued packets read with one recvfrom and
// dropped with one batch verdict. It is the cheapest a userspace program
// can take packets off the queue, which makes it the floor the kernel path
// sets.
func runRaw(ctx context.Context, num uint16, maxLen uint32, log *slog.Logger) (uint64, error) {
	c, err := nfqraw.Open(num, maxLen)
	if err != nil {
		return 0, fmt.Errorf("nullresponder: %w", err)
	}
	defer c.Close()
	log.Info("queue bound", "queue", num, "mode", "raw")

	var count uint64
	buf := make([]byte, 1<<20)
	verdict := make([]byte, 0, 64)
	for ctx.Err() == nil {
		var last uint32
		seen := false
		err := c.Receive(buf, func(p *nfqraw.Packet) {
			count++
			last, seen = p.ID, true
		})
		if errors.Is(err, nfqraw.ErrTimeout) {
			continue
		}
		if err != nil {
			return count, fmt.Errorf("nullresponder: %w", err)
		}
		if !seen {
			continue
		}
		// One batch verdict drops every packet up to the last id read.
		verdict = c.AppendBatchVerdict(verdict[:0], last, nfqraw.Drop)
		if err := c.Send(verdict); err != nil {
			log.Error("verdict failed", "error", err)
		}
	}
	return count, nil
}
