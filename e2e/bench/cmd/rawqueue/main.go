// Command rawqueue is a measuring prototype, not a product: the daemon's
// own DHCPv4 responder (binding.Table, responder.Handler, the AF_PACKET
// sender) fed by the bare netlink queue reader of internal/nfqraw instead
// of go-nfqueue. Run by the load benchmark beside nfdhcpd, it shows what
// reading the queue in batches with one blocking thread would save.
//
// It serves the DHCPv4 queue only, with the benchmark's fixed options.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/e2e/bench/internal/nfqraw"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

func main() {
	data := flag.String("data", "", "binding `directory`")
	queue := flag.Uint("queue", 42, "DHCPv4 NFQUEUE queue `number`")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *data, uint16(*queue), log); err != nil {
		log.Error("rawqueue failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, data string, num uint16, log *slog.Logger) error {
	sender, err := responder.NewSender()
	if err != nil {
		return err
	}
	defer sender.Close()
	table := binding.NewTable(data, log)
	go table.Run(ctx)
	select {
	case <-table.Ready():
	case <-time.After(time.Minute):
		return errors.New("rawqueue: bindings not loaded after a minute")
	}
	// The options of the benchmark's nfdhcpd.conf.
	opts := responder.Options{
		LeaseTime:    604800 * time.Second,
		RenewalTime:  600 * time.Second,
		ServerOnLink: true,
		Nameservers:  []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Domain:       "example.org",
	}
	handle := responder.New(table, sender, opts, log).Handler(responder.KindDHCPv4)

	c, err := nfqraw.Open(num, responder.DefaultMaxQueueLen)
	if err != nil {
		return fmt.Errorf("rawqueue: %w", err)
	}
	defer c.Close()
	log.Info("ready to serve requests", "queue", num, "bindings", table.Snapshot().Len())

	buf := make([]byte, 1<<20)
	verdicts := make([]byte, 0, 4096)
	onPacket := func(p *nfqraw.Packet) {
		pkt := responder.Packet{ID: p.ID, InIndex: int(p.InDev), PhysInIndex: int(p.PhysInDev), Payload: p.Payload}
		if len(p.HwAddr) >= 6 {
			pkt.HwAddr = net.HardwareAddr(p.HwAddr[:6])
		}
		v := nfqraw.Accept
		if handle(&pkt) == responder.Drop {
			v = nfqraw.Drop
		}
		verdicts = c.AppendVerdict(verdicts, p.ID, uint32(v))
	}
	for ctx.Err() == nil {
		verdicts = verdicts[:0]
		err := c.Receive(buf, onPacket)
		if errors.Is(err, nfqraw.ErrTimeout) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rawqueue: %w", err)
		}
		// Every verdict of the batch in one send.
		if len(verdicts) > 0 {
			if err := c.Send(verdicts); err != nil {
				log.Error("verdicts failed", "error", err)
			}
		}
	}
	return nil
}
