package responder_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// outboxRig is a DHCPv4 handler whose sender records the batches it is
// asked to write and fails the frames it is told to.
type outboxRig struct {
	r      *responder.Responder
	handle func(*responder.Packet) responder.Verdict
	log    *bytes.Buffer

	mu      sync.Mutex
	batches []int // frames per call
	sent    int
	failAt  map[int]bool // frame numbers (from 0, over the test) refused
	offered int
}

func newOutboxRig(t *testing.T) *outboxRig {
	t.Helper()
	rig := &outboxRig{log: &bytes.Buffer{}, failAt: map[int]bool{}}
	batch := func(_ []int, frames [][]byte) (int, error) {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		rig.batches = append(rig.batches, len(frames))
		for i := range frames {
			if rig.failAt[rig.sent] {
				rig.sent++
				return i, errors.New("no buffer space")
			}
			rig.sent++
		}
		return len(frames), nil
	}
	immediate := &dhcpv4Sender{}
	log := slog.New(slog.NewTextHandler(rig.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rig.r = responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{dhcpv4Binding()})},
		responder.NewBatchingSender(immediate, batch), dhcpv4Options(), log)
	rig.handle = rig.r.Handler(responder.KindDHCPv4)
	return rig
}

func (rig *outboxRig) packet(t *testing.T, payload []byte, more bool, tap int) responder.Verdict {
	t.Helper()
	p := responder.Packet{InIndex: tap, HwAddr: dhcpv4VMMAC, Payload: payload, More: more}
	return rig.handle(&p)
}

func (rig *outboxRig) answered() uint64 {
	return rig.r.Stats.Get(responder.KindDHCPv4, responder.OutcomeAnswered)
}

// TestOutboxHoldsRepliesOfARead checks that the replies to the packets of
// one read are written together when its last packet is handled, and
// counted only then.
func TestOutboxHoldsRepliesOfARead(t *testing.T) {
	rig := newOutboxRig(t)
	discover := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	tap := dhcpv4Binding().TapIndex
	for i := range 2 {
		if v := rig.packet(t, discover, true, tap); v != responder.Drop {
			t.Fatalf("packet %d: verdict %v, want drop", i, v)
		}
	}
	if len(rig.batches) != 0 || rig.answered() != 0 {
		t.Fatalf("before the read's last packet: %v written, %d counted; want nothing yet", rig.batches, rig.answered())
	}
	rig.packet(t, discover, false, tap)
	if want := []int{3}; !equalInts(rig.batches, want) {
		t.Fatalf("batches written %v, want %v", rig.batches, want)
	}
	if got := rig.answered(); got != 3 {
		t.Errorf("%d answered after the read, want 3", got)
	}
	if got := rig.r.Stats.Replies(responder.KindDHCPv4, uint8(dhcpv4.MessageTypeOffer)); got != 3 {
		t.Errorf("%d OFFERs counted, want 3", got)
	}

	// A read whose last packet comes from a TAP without binding still
	// writes what the others held.
	rig.packet(t, discover, true, tap)
	if v := rig.packet(t, discover, false, tap+1000); v != responder.Accept {
		t.Fatalf("unbound TAP's packet: verdict %v, want accept", v)
	}
	if want := []int{3, 1}; !equalInts(rig.batches, want) {
		t.Errorf("batches written %v, want %v", rig.batches, want)
	}
}

// TestOutboxRefusedReply checks that a held reply the kernel refuses
// counts as an error and is logged, and that the replies after it are
// still written.
func TestOutboxRefusedReply(t *testing.T) {
	rig := newOutboxRig(t)
	rig.failAt[1] = true
	discover := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	tap := dhcpv4Binding().TapIndex
	rig.packet(t, discover, true, tap)
	rig.packet(t, discover, true, tap)
	rig.packet(t, discover, false, tap)
	if want := []int{3, 1}; !equalInts(rig.batches, want) {
		t.Errorf("batches written %v, want %v (the refused frame's successors retried)", rig.batches, want)
	}
	if got := rig.answered(); got != 2 {
		t.Errorf("%d answered, want 2", got)
	}
	if got := rig.r.Stats.Get(responder.KindDHCPv4, responder.OutcomeError); got != 1 {
		t.Errorf("%d errors, want 1", got)
	}
	if !strings.Contains(rig.log.String(), "cannot send DHCPv4 reply") || !strings.Contains(rig.log.String(), "no buffer space") {
		t.Errorf("no log line names the refused reply:\n%s", rig.log)
	}
}

// TestOutboxFull checks that a read longer than the outbox is written in
// several batches, none lost.
func TestOutboxFull(t *testing.T) {
	rig := newOutboxRig(t)
	discover := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	tap := dhcpv4Binding().TapIndex
	const n = 150
	for i := range n {
		rig.packet(t, discover, i < n-1, tap)
	}
	total := 0
	for _, b := range rig.batches {
		total += b
	}
	if total != n || len(rig.batches) != 3 {
		t.Errorf("batches %v: %d frames in %d calls, want %d in 3", rig.batches, total, len(rig.batches), n)
	}
	if got := rig.answered(); got != n {
		t.Errorf("%d answered, want %d", got, n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
