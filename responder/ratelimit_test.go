package responder_test

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// rateLimitOtherTAP is a second bound VM, on TAP index 8.
func rateLimitOtherTAP() *binding.Active {
	a := dhcpv4Binding()
	a.Name, a.Indev, a.TapIndex = "tap8", "tap8", 8
	a.MAC = dhcpv4OtherMAC
	a.IP = netip.MustParseAddr("192.0.2.11")
	return a
}

// TestHandlerRateLimitsPerTAP floods one TAP and checks that only its burst
// is answered, the rest dropped and counted as ratelimited with one warning,
// while another TAP's packets in the middle of the flood are answered and an
// unbound TAP's are still accepted untouched.
func TestHandlerRateLimitsPerTAP(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := dhcpv4Options()
	// A rate so low that no token comes back while the test runs.
	opts.RateLimit = responder.RateLimit{PerSecond: 0.001, Burst: 5}
	sender := &dhcpv4Sender{}
	snap := binding.NewSnapshot([]*binding.Active{dhcpv4Binding(), rateLimitOtherTAP()})
	r := responder.New(dhcpv4Bindings{snap}, sender, opts, log)
	h := r.Handler(responder.KindDHCPv4)

	flood := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	other := dhcpv4Request(t, dhcpv4.MessageTypeDiscover, dhcpv4.WithHwAddr(dhcpv4OtherMAC))
	verdicts := map[string]int{}
	for i := range 100 {
		verdicts["flood "+h(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: flood}).String()]++
		if i%25 == 0 {
			verdicts["other "+h(&responder.Packet{InIndex: 8, Payload: other}).String()]++
		}
	}
	verdicts["unbound "+h(&responder.Packet{InIndex: 99, Payload: flood}).String()]++
	if diff := cmp.Diff(map[string]int{"flood drop": 100, "other drop": 4, "unbound accept": 1}, verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}

	sentTo := map[int]int{}
	for _, s := range sender.sent {
		sentTo[s.ifindex]++
	}
	if diff := cmp.Diff(map[int]int{dhcpv4TapIndex: 5, 8: 4}, sentTo); diff != "" {
		t.Errorf("replies by TAP index (-want +got):\n%s", diff)
	}
	counts := map[string]uint64{}
	for _, o := range []responder.Outcome{responder.OutcomeAnswered, responder.OutcomeRateLimited, responder.OutcomeUnknownTAP} {
		counts[o.String()] = r.Stats.Get(responder.KindDHCPv4, o)
	}
	if diff := cmp.Diff(map[string]uint64{"answered": 9, "ratelimited": 95, "unknown_tap": 1}, counts); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	var warnings []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "rate limit") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "level=WARN") || !strings.Contains(warnings[0], "TAP=tap7") {
		t.Errorf("want one rate-limit warning naming tap7, got %q", warnings)
	}
}

// TestHandlerRateLimitSharedByQueues checks that the limit is per TAP, not
// per queue: DHCPv4 packets use up the burst of the TAP's RS packets too.
func TestHandlerRateLimitSharedByQueues(t *testing.T) {
	opts := dhcpv4Options()
	opts.RateLimit = responder.RateLimit{PerSecond: 0.001, Burst: 2}
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{dhcpv4Binding()})}, &dhcpv4Sender{},
		opts, slog.New(slog.DiscardHandler))
	discover := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	for range 2 {
		r.Handler(responder.KindDHCPv4)(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: discover})
	}
	// Any payload will do: a rate-limited packet is not decoded.
	r.Handler(responder.KindRS)(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: []byte{0x60}})
	if got := r.Stats.Get(responder.KindRS, responder.OutcomeRateLimited); got != 1 {
		t.Errorf("RS after the TAP's burst went to DHCPv4: ratelimited = %d, want 1", got)
	}
}

// TestHandlerWithoutRateLimit checks that the zero RateLimit handles every
// packet.
func TestHandlerWithoutRateLimit(t *testing.T) {
	sender := &dhcpv4Sender{}
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{dhcpv4Binding()})}, sender,
		dhcpv4Options(), slog.New(slog.DiscardHandler))
	h := r.Handler(responder.KindDHCPv4)
	discover := dhcpv4Request(t, dhcpv4.MessageTypeDiscover)
	for range 200 {
		h(&responder.Packet{InIndex: dhcpv4TapIndex, Payload: discover})
	}
	if got := len(sender.sent); got != 200 {
		t.Errorf("replies = %d, want 200", got)
	}
}
