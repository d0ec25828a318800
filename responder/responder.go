package responder

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/nfdhcpd/nfdhcpd/activity"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

// A Verdict is what the kernel does with a queued packet once it was handled.
type Verdict uint8

const (
	// Accept lets the packet continue untouched (no binding: the daemon is
	// invisible there).
	Accept Verdict = iota
	// Drop ends the packet: bound VMs' bootstrap traffic never leaves the host.
	Drop
)

func (v Verdict) String() string {
	if v == Accept {
		return "accept"
	}
	return "drop"
}

// A Packet is one packet taken from a queue.
type Packet struct {
	ID          uint32
	InIndex     int              // input interface index, 0 when unknown
	PhysInIndex int              // physical input (bridge port) index, 0 when unknown
	HwAddr      net.HardwareAddr // source MAC the kernel saw, nil when unknown
	Payload     []byte           // starts at the IP header
	// More is set when the Source hands over another packet of the same
	// read right after this one: the Handler may hold its reply until a
	// packet without More (see outbox.go).
	More bool
}

// TapIndex returns the index of the interface the packet's binding is looked
// up by: the physical input interface when the kernel gives one (a TAP on a
// bridge), otherwise the input interface.
func (p *Packet) TapIndex() int {
	if p.PhysInIndex != 0 {
		return p.PhysInIndex
	}
	return p.InIndex
}

// A Source yields the packets of one queue.
type Source interface {
	// Run takes packets until ctx is done, calls handle for each and sets
	// the verdict handle returns: exactly one verdict per packet. The
	// Packet and the memory its slices point to may be reused once handle
	// returns.
	Run(ctx context.Context, handle func(*Packet) Verdict) error
}

// A Sender writes complete Ethernet frames onto an interface. It must not
// keep frame once Send returned: the handlers build every reply into one
// reused buffer.
type Sender interface {
	Send(ifindex int, frame []byte) error
}

// Bindings gives the current snapshot of the binding table.
type Bindings interface {
	Snapshot() *binding.Snapshot
}

// A Kind names the protocol a queue carries.
type Kind uint8

const (
	KindDHCPv4 Kind = iota
	KindRS
	KindNS
	KindDHCPv6
	numKinds
)

func (k Kind) String() string {
	switch k {
	case KindDHCPv4:
		return "dhcpv4"
	case KindRS:
		return "rs"
	case KindNS:
		return "ns"
	case KindDHCPv6:
		return "dhcpv6"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IPv6Mode is how VMs get their IPv6 configuration; a binding's
// IPV6_MODE overrides the configuration's for its NIC.
type IPv6Mode = profile.IPv6Mode

const (
	ModeSLAAC       = profile.ModeSLAAC       // RA only
	ModeSLAACDHCPv6 = profile.ModeSLAACDHCPv6 // RA with O flag, DHCPv6 Information-Request
	ModeDHCPv6      = profile.ModeDHCPv6      // RA with M flag, stateful DHCPv6
	ModeNone        = profile.ModeNone        // no RA, no DHCPv6 (a binding's IPV6_MODE=none)
)

// Options is the protocol configuration of the responder. It is replaced
// as a whole on reload.
type Options struct {
	// DHCPv4
	LeaseTime    time.Duration // option 51
	RenewalTime  time.Duration // option 58 (T1); T2 is 7/8 of LeaseTime
	ServerIP     netip.Addr    // server identifier when not on-link
	ServerOnLink bool          // use the binding's gateway (or the subnet's first address)
	Nameservers  []netip.Addr
	Domain       string

	// IPv6
	IPv6         bool
	Mode         IPv6Mode
	RAPeriod     time.Duration
	Nameservers6 []netip.Addr
	Domains6     []string
	// RouterPreference, RouteInfo and PREF64 go into every RA (RFC 4191
	// preference and route information, RFC 8781 NAT64 prefix).
	RouterPreference ndp.Preference
	RouteInfo        []packets.RouteInfo
	PREF64           netip.Prefix

	// Profile holds the host-wide defaults of the per-NIC profile; a
	// binding's own keys win over them. The fields above stay the
	// defaults of what the profile does not set, as before profiles.
	Profile profile.Profile

	// RateLimit bounds the packets handled per TAP (see ratelimit.go); the
	// zero value handles everything.
	RateLimit RateLimit
}

// A Responder answers the packets of every queue from the binding table.
type Responder struct {
	bindings Bindings
	sender   Sender
	log      *slog.Logger
	opts     atomic.Pointer[Options]
	// dhcpv4Notices rate-limits the DHCPv4 log lines a VM can trigger
	// (see dhcpv4_notice.go).
	dhcpv4Notices dhcpv4Notices
	// limiter holds the per-TAP token buckets; epoch is the origin of its
	// monotonic clock.
	limiter tapLimiter
	epoch   time.Time
	Stats   Stats
	// activity records what each VM asked and was given.
	activity *activity.Book
	// prompts paces the advertisements sent when a VM comes up.
	prompts raPrompts
}

// New returns a responder that looks bindings up in b and writes replies
// through s.
func New(b Bindings, s Sender, opts Options, log *slog.Logger) *Responder {
	r := &Responder{bindings: b, sender: s, log: log, epoch: time.Now(), activity: activity.NewBook(log)}
	r.SetOptions(opts)
	return r
}

// SetOptions replaces the options used for packets handled from now on.
func (r *Responder) SetOptions(o Options) {
	r.opts.Store(&o)
}

// Activity returns the book of what the VMs did: their latest requests,
// leases and IPv6 addresses in use, and the sink of their lease events.
func (r *Responder) Activity() *activity.Book { return r.activity }

// Options returns the options in use.
func (r *Responder) Options() Options { return *r.opts.Load() }

// Serve answers the packets of src as kind until ctx is done.
func (r *Responder) Serve(ctx context.Context, kind Kind, src Source) error {
	h := r.Handler(kind)
	if err := src.Run(ctx, h); err != nil && ctx.Err() == nil {
		return fmt.Errorf("responder: %s queue: %w", kind, err)
	}
	return nil
}

// Handler returns the function that decides the verdict of one packet of
// the given kind, answering it on the way. It times each decision into
// Stats.Latency.
func (r *Responder) Handler(kind Kind) func(*Packet) Verdict {
	decide := r.decider(kind)
	return func(p *Packet) Verdict {
		start := time.Now()
		v := decide(p)
		r.Stats.observeLatency(kind, time.Since(start))
		return v
	}
}

// decider returns the untimed body of Handler.
func (r *Responder) decider(kind Kind) func(*Packet) Verdict {
	buf := &scratch{}
	if _, ok := r.sender.(batchSender); ok {
		buf.out = &outbox{}
	}
	return func(p *Packet) (v Verdict) {
		sc := buf.acquire()
		defer sc.release()
		if sc.out != nil && !p.More {
			// Runs last, after a panic was recovered below.
			defer r.sendHeld(sc.out)
		}
		snap := r.bindings.Snapshot()
		a, ok := snap.ByIndex(p.TapIndex())
		if !ok {
			r.Stats.count(kind, OutcomeUnknownTAP)
			return Accept
		}
		o := r.opts.Load()
		if d := r.limiter.allow(snap, a.TapIndex, o.RateLimit, int64(time.Since(r.epoch))); !d.allowed {
			r.Stats.count(kind, OutcomeRateLimited)
			r.logRateLimited(kind, a, o.RateLimit, d)
			return Drop
		}
		// A bound TAP's packet is dropped whatever happens below, even if a
		// bug panics half-way through the reply.
		defer func() {
			if e := recover(); e != nil {
				if sc.out != nil {
					sc.out.unhold()
				}
				r.Stats.count(kind, OutcomeError)
				r.log.Error("panic while handling packet", "QUEUE", kind.String(), "TAP", a.Name, "panic", fmt.Sprint(e))
				v = Drop
			}
		}()
		var out Outcome
		switch kind {
		case KindDHCPv4:
			out = r.handleDHCPv4(p, a, o, sc)
		case KindRS:
			out = r.handleRS(p, a, o, sc)
		case KindNS:
			out = r.handleNS(p, a, o, sc)
		case KindDHCPv6:
			out = r.handleDHCPv6(p, a, o, sc)
		}
		if sc.out != nil && sc.out.pending {
			sc.out.settle(out) // counted when sent
		} else {
			r.Stats.count(kind, out)
		}
		return Drop
	}
}
