package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// raRound is what one round of periodic RAs cost.
type raRound struct {
	TAPs   int
	Wall   time.Duration // from the loop's start to the last TAP's first RA
	CPU    time.Duration // process CPU over that time
	Errors int
}

// recordingSender sends through the real AF_PACKET sender and notes which
// interfaces got a frame.
type recordingSender struct {
	real   responder.Sender
	mu     sync.Mutex
	seen   map[int]bool
	errors int
	all    chan struct{}
	want   int
}

func (s *recordingSender) Send(ifindex int, frame []byte) error {
	err := s.real.Send(ifindex, frame)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors++
	}
	if !s.seen[ifindex] {
		s.seen[ifindex] = true
		if len(s.seen) == s.want {
			close(s.all)
		}
	}
	return err
}

type fixedBindings struct{ s *binding.Snapshot }

func (b fixedBindings) Snapshot() *binding.Snapshot { return b.s }

// measureRARound runs the responder's periodic RA loop, in this process,
// over n of the TAPs of the hypervisor namespace with a real
// AF_PACKET sender, and measures the first full round. The loop spreads a
// round over the RA period by design, so the wall time is about one
// period; the CPU time is the cost.
func measureRARound(ctx context.Context, t *topology, n int, period time.Duration) (raRound, error) {
	ns, err := netns.GetFromName(t.hv)
	if err != nil {
		return raRound{}, fmt.Errorf("scale: netns %s: %w", t.hv, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return raRound{}, fmt.Errorf("scale: netlink: %w", err)
	}
	defer h.Close()
	var active []*binding.Active
	for i := range n {
		l, err := h.LinkByName(tapName(i))
		if err != nil {
			return raRound{}, fmt.Errorf("scale: %s: %w", tapName(i), err)
		}
		prefix := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 64)
		active = append(active, &binding.Active{
			Binding:  binding.Binding{Name: tapName(i), Indev: tapName(i), Subnet6: prefix},
			TapIndex: l.Attrs().Index,
			IndevMAC: l.Attrs().HardwareAddr,
		})
	}
	real, err := senderIn(ns)
	if err != nil {
		return raRound{}, err
	}
	defer real.Close()
	s := &recordingSender{real: real, seen: map[int]bool{}, all: make(chan struct{}), want: n}
	opts := responder.Options{IPv6: true, Mode: responder.ModeSLAAC, RAPeriod: period,
		Nameservers6: []netip.Addr{netip.MustParseAddr("2001:db8::53")}, Domains6: []string{"example.org"}}
	r := responder.New(fixedBindings{binding.NewSnapshot(active)}, s, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0 := processCPU()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.RunPeriodicRA(ctx, nil) }()
	select {
	case <-s.all:
	case <-time.After(3 * period):
		return raRound{}, fmt.Errorf("scale: only %d of %d TAPs got an RA within %s", len(s.seen), n, 3*period)
	case err := <-done:
		return raRound{}, fmt.Errorf("scale: RA loop ended: %v", err)
	}
	res := raRound{TAPs: n, Wall: time.Since(start), CPU: processCPU() - cpu0}
	s.mu.Lock()
	res.Errors = s.errors
	s.mu.Unlock()
	return res, nil
}

// senderIn opens the AF_PACKET sender in namespace ns.
func senderIn(ns netns.NsHandle) (*responder.PacketSender, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return nil, err
	}
	defer netns.Set(orig)
	return responder.NewSender()
}

// processCPU is the user plus system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
