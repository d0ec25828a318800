package responder

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
)

// ICMPv6 types of the Neighbor Discovery messages the RS and NS queues
// carry and answer (RFC 4861 §4).
const (
	icmpRouterSolicitation    uint8 = 133
	icmpRouterAdvertisement   uint8 = 134
	icmpNeighborSolicitation  uint8 = 135
	icmpNeighborAdvertisement uint8 = 136
)

// messageCounts counts messages of every kind by their one-byte type: the
// DHCPv4 message type option, the DHCPv6 msg-type, the ICMPv6 type. An
// array indexed by the byte needs no lookup and no allocation per packet.
type messageCounts [numKinds][256]atomic.Uint64

func (m *messageCounts) count(k Kind, t uint8) {
	if k < numKinds {
		m[k][t].Add(1)
	}
}

func (m *messageCounts) get(k Kind, t uint8) uint64 {
	if k < numKinds {
		return m[k][t].Load()
	}
	return 0
}

// Requests returns how many requests of kind k with message type t were
// decoded (whatever their outcome). t is the DHCPv4 message type, the
// DHCPv6 msg-type or the ICMPv6 type.
func (s *Stats) Requests(k Kind, t uint8) uint64 { return s.requests.get(k, t) }

// Replies returns how many replies of message type t were sent for
// packets of kind k: DHCPv4 OFFER, ACK and NAK, DHCPv6 ADVERTISE and
// REPLY, Router and Neighbor Advertisements.
func (s *Stats) Replies(k Kind, t uint8) uint64 { return s.replies.get(k, t) }

func (s *Stats) countRequest(k Kind, t uint8) { s.requests.count(k, t) }
func (s *Stats) countReply(k Kind, t uint8)   { s.replies.count(k, t) }

// KnownMessageTypes returns the message types a queue of kind k takes as
// requests and those it sends as replies: the series a metrics exporter
// shows even before they move.
func KnownMessageTypes(k Kind) (requests, replies []uint8) {
	switch k {
	case KindDHCPv4:
		return []uint8{
				uint8(dhcpv4.MessageTypeDiscover), uint8(dhcpv4.MessageTypeRequest), uint8(dhcpv4.MessageTypeDecline),
				uint8(dhcpv4.MessageTypeRelease), uint8(dhcpv4.MessageTypeInform),
			}, []uint8{
				uint8(dhcpv4.MessageTypeOffer), uint8(dhcpv4.MessageTypeAck), uint8(dhcpv4.MessageTypeNak),
			}
	case KindDHCPv6:
		return []uint8{
				uint8(dhcpv6.MessageTypeSolicit), uint8(dhcpv6.MessageTypeRequest), uint8(dhcpv6.MessageTypeConfirm),
				uint8(dhcpv6.MessageTypeRenew), uint8(dhcpv6.MessageTypeRebind), uint8(dhcpv6.MessageTypeRelease),
				uint8(dhcpv6.MessageTypeDecline), uint8(dhcpv6.MessageTypeInformationRequest),
			}, []uint8{
				uint8(dhcpv6.MessageTypeAdvertise), uint8(dhcpv6.MessageTypeReply),
			}
	case KindRS:
		return []uint8{icmpRouterSolicitation}, []uint8{icmpRouterAdvertisement}
	case KindNS:
		return []uint8{icmpNeighborSolicitation}, []uint8{icmpNeighborAdvertisement}
	}
	return nil, nil
}

// MessageTypeName returns a label-friendly name of message type t of kind
// k ("discover", "information_request", "router_solicitation"), or
// "type_N" for a type without a name.
func MessageTypeName(k Kind, t uint8) string {
	var name string
	switch k {
	case KindDHCPv4:
		name = dhcpv4.MessageType(t).String()
	case KindDHCPv6:
		name = dhcpv6.MessageType(t).String()
	case KindRS, KindNS:
		switch t {
		case icmpRouterSolicitation:
			name = "router_solicitation"
		case icmpRouterAdvertisement:
			name = "router_advertisement"
		case icmpNeighborSolicitation:
			name = "neighbor_solicitation"
		case icmpNeighborAdvertisement:
			name = "neighbor_advertisement"
		}
	}
	// The libraries name unknown types "unknown (N)" or "unknown".
	if name == "" || strings.HasPrefix(name, "unknown") || strings.HasPrefix(name, "Unknown") {
		return "type_" + strconv.Itoa(int(t))
	}
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

// dhcpv6FrameType returns the msg-type of a DHCPv6 reply frame as
// packets.BuildDHCPv6Reply makes it: Ethernet, an IPv6 header without
// extension headers, UDP, then the DHCPv6 message. It reports false for
// any other frame.
func dhcpv6FrameType(frame []byte) (uint8, bool) {
	const ethLen, ipv6Len, udpLen = 14, 40, 8
	const off = ethLen + ipv6Len + udpLen
	if len(frame) <= off || frame[12] != 0x86 || frame[13] != 0xdd || frame[ethLen+6] != 17 {
		return 0, false
	}
	return frame[off], true
}

// latencyBounds are the upper bounds of the verdict latency buckets. A
// verdict normally takes tens of microseconds; the long tail shows a
// starved or swapping daemon.
var latencyBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, time.Second,
}

// A latencyHistogram counts durations into the fixed latencyBounds
// buckets, plus one for everything longer, with atomic counters: observing
// neither locks nor allocates.
type latencyHistogram struct {
	buckets  [len(latencyBounds) + 1]atomic.Uint64
	sumNanos atomic.Uint64
}

func (h *latencyHistogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	if d > 0 {
		h.sumNanos.Add(uint64(d))
	}
}

// A LatencySnapshot is a copy of one latency histogram.
type LatencySnapshot struct {
	// Bounds are the upper bounds of the buckets (inclusive).
	Bounds []time.Duration
	// Counts has one more entry than Bounds: Counts[i] is how many
	// durations fell in (Bounds[i-1], Bounds[i]], the last one those
	// above every bound. They are not cumulative.
	Counts []uint64
	// Count is the sum of Counts, Sum the total of the durations.
	Count uint64
	Sum   time.Duration
}

// Latency returns the histogram of the time from the handler receiving a
// packet of kind k to its verdict being decided, its reply built and sent
// or held for the end of the read (outbox.go).
func (s *Stats) Latency(k Kind) LatencySnapshot {
	snap := LatencySnapshot{Bounds: append([]time.Duration(nil), latencyBounds[:]...), Counts: make([]uint64, len(latencyBounds)+1)}
	if k >= numKinds {
		return snap
	}
	h := &s.latency[k]
	for i := range h.buckets {
		snap.Counts[i] = h.buckets[i].Load()
		snap.Count += snap.Counts[i]
	}
	snap.Sum = time.Duration(h.sumNanos.Load())
	return snap
}

func (s *Stats) observeLatency(k Kind, d time.Duration) {
	if k < numKinds {
		s.latency[k].observe(d)
	}
}
