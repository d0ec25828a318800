package responder_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// messageCounts reads every non-zero request and reply counter of kind as
// "name=count" maps.
func messageCounts(s *responder.Stats, kind responder.Kind) (requests, replies map[string]uint64) {
	requests, replies = map[string]uint64{}, map[string]uint64{}
	for t := range 256 {
		if n := s.Requests(kind, uint8(t)); n > 0 {
			requests[responder.MessageTypeName(kind, uint8(t))] = n
		}
		if n := s.Replies(kind, uint8(t)); n > 0 {
			replies[responder.MessageTypeName(kind, uint8(t))] = n
		}
	}
	return requests, replies
}

func TestStatsCountMessageTypes(t *testing.T) {
	dhcpv4Packet := func(typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return dhcpv4Request(t, typ, mods...) }
	}
	fixture := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return v6Fixture(t, name) }
	}
	tests := []struct {
		name         string
		kind         responder.Kind
		packets      []func(t *testing.T) []byte
		sendErr      error
		wantRequests map[string]uint64
		wantReplies  map[string]uint64
	}{{
		name: "dhcpv4 discover, request, bad request",
		kind: responder.KindDHCPv4,
		packets: []func(t *testing.T) []byte{
			dhcpv4Packet(dhcpv4.MessageTypeDiscover),
			dhcpv4Packet(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(dhcpv4Binding().IP.AsSlice()))),
			dhcpv4Packet(dhcpv4.MessageTypeRequest),
			dhcpv4Packet(dhcpv4.MessageTypeRelease),
		},
		wantRequests: map[string]uint64{"discover": 1, "request": 2, "release": 1},
		wantReplies:  map[string]uint64{"offer": 1, "ack": 1, "nak": 1},
	}, {
		name:         "dhcpv4 reply that cannot be sent is not counted",
		kind:         responder.KindDHCPv4,
		packets:      []func(t *testing.T) []byte{dhcpv4Packet(dhcpv4.MessageTypeDiscover)},
		sendErr:      errors.New("tap gone"),
		wantRequests: map[string]uint64{"discover": 1},
		wantReplies:  map[string]uint64{},
	}, {
		name:         "malformed packets have no type",
		kind:         responder.KindDHCPv4,
		packets:      []func(t *testing.T) []byte{func(*testing.T) []byte { return []byte{0x45, 0, 0} }},
		wantRequests: map[string]uint64{},
		wantReplies:  map[string]uint64{},
	}, {
		name:         "router solicitation",
		kind:         responder.KindRS,
		packets:      []func(t *testing.T) []byte{fixture("rdisc6-rs.bin"), fixture("dhcpcd-rs.bin")},
		wantRequests: map[string]uint64{"router_solicitation": 2},
		wantReplies:  map[string]uint64{"router_advertisement": 2},
	}, {
		name:         "neighbor solicitation",
		kind:         responder.KindNS,
		packets:      []func(t *testing.T) []byte{fixture("ndisc6-ns.bin")},
		wantRequests: map[string]uint64{"neighbor_solicitation": 1},
		wantReplies:  map[string]uint64{"neighbor_advertisement": 1},
	}, {
		name:         "dhcpv6 solicit and request",
		kind:         responder.KindDHCPv6,
		packets:      []func(t *testing.T) []byte{fixture("dhclient-solicit.bin"), fixture("dhcpcd-request.bin"), fixture("dhclient-information-request.bin")},
		wantRequests: map[string]uint64{"solicit": 1, "request": 1, "information_request": 1},
		wantReplies:  map[string]uint64{"advertise": 1, "reply": 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a *binding.Active
			opts := v6Options(responder.ModeDHCPv6)
			var sender responder.Sender
			if tt.kind == responder.KindDHCPv4 {
				a, opts, sender = dhcpv4Binding(), dhcpv4Options(), &dhcpv4Sender{err: tt.sendErr}
			} else {
				a, sender = v6Binding(), &v6Sender{err: tt.sendErr}
			}
			r := responder.New(dhcpv4Bindings{binding.NewSnapshot([]*binding.Active{a})}, sender, opts,
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			h := r.Handler(tt.kind)
			for _, packet := range tt.packets {
				h(&responder.Packet{ID: 1, InIndex: a.TapIndex, HwAddr: a.MAC, Payload: packet(t)})
			}
			requests, replies := messageCounts(&r.Stats, tt.kind)
			if diff := cmp.Diff(tt.wantRequests, requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReplies, replies); diff != "" {
				t.Errorf("replies (-want +got):\n%s", diff)
			}
			lat := r.Stats.Latency(tt.kind)
			if lat.Count != uint64(len(tt.packets)) || lat.Sum <= 0 {
				t.Errorf("latency count %d sum %v, want %d packets timed", lat.Count, lat.Sum, len(tt.packets))
			}
		})
	}
}

func TestStatsLatencyUnknownTAPIsTimed(t *testing.T) {
	r := responder.New(dhcpv4Bindings{binding.NewSnapshot(nil)}, &dhcpv4Sender{}, dhcpv4Options(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := r.Handler(responder.KindDHCPv4)
	for range 3 {
		if v := h(&responder.Packet{ID: 1, InIndex: 42, Payload: dhcpv4Request(t, dhcpv4.MessageTypeDiscover)}); v != responder.Accept {
			t.Fatalf("verdict %v for an unknown TAP, want accept", v)
		}
	}
	got := r.Stats.Latency(responder.KindDHCPv4)
	if len(got.Counts) != len(got.Bounds)+1 {
		t.Fatalf("%d bucket counts for %d bounds, want one more", len(got.Counts), len(got.Bounds))
	}
	var sum uint64
	for _, n := range got.Counts {
		sum += n
	}
	if got.Count != 3 || sum != 3 {
		t.Errorf("count %d, bucket sum %d, want 3 and 3", got.Count, sum)
	}
	// Nothing else was timed.
	if other := r.Stats.Latency(responder.KindRS); other.Count != 0 {
		t.Errorf("rs latency count %d, want 0", other.Count)
	}
	// A handler returning within a second lands below the last bound.
	if got.Counts[len(got.Counts)-1] != 0 || got.Sum > 3*time.Second {
		t.Errorf("latency %+v: packets above one second", got)
	}
}

func TestMessageTypeName(t *testing.T) {
	type query struct {
		kind responder.Kind
		typ  uint8
	}
	got := map[query]string{}
	want := map[query]string{
		{responder.KindDHCPv4, 1}:   "discover",
		{responder.KindDHCPv4, 6}:   "nak",
		{responder.KindDHCPv4, 200}: "type_200",
		{responder.KindDHCPv6, 11}:  "information_request",
		{responder.KindDHCPv6, 250}: "type_250",
		{responder.KindRS, 133}:     "router_solicitation",
		{responder.KindNS, 136}:     "neighbor_advertisement",
		{responder.KindNS, 1}:       "type_1",
	}
	for q := range want {
		got[q] = responder.MessageTypeName(q.kind, q.typ)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	for _, k := range []responder.Kind{responder.KindDHCPv4, responder.KindRS, responder.KindNS, responder.KindDHCPv6} {
		requests, replies := responder.KnownMessageTypes(k)
		if len(requests) == 0 || len(replies) == 0 {
			t.Errorf("%s: known requests %v, replies %v: want some of each", k, requests, replies)
		}
	}
}
