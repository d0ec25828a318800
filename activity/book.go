package activity

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
)

// A Book holds the Record of every binding whose VM sent something, by
// TAP name. Records are created on a TAP's first request and forgotten
// when its binding changes or goes (Forget), so the book never holds more
// records than there are bindings. Its methods are safe for concurrent
// use: each queue's loop updates the records of its own protocol.
type Book struct {
	log  *slog.Logger
	sink atomic.Pointer[Sink]

	mu   sync.RWMutex
	recs map[string]*Record
}

// NewBook returns an empty book that logs lease events to log.
func NewBook(log *slog.Logger) *Book {
	return &Book{log: log, recs: make(map[string]*Record)}
}

// SetSink makes s receive the lease events from now on; nil stops them.
func (b *Book) SetSink(s Sink) {
	if s == nil {
		b.sink.Store(nil)
		return
	}
	b.sink.Store(&s)
}

func (b *Book) emit(ev Event) {
	if s := b.sink.Load(); s != nil {
		(*s)(ev)
	}
}

// record returns tap's record, creating it on the TAP's first request.
func (b *Book) record(tap string) *Record {
	b.mu.RLock()
	r := b.recs[tap]
	b.mu.RUnlock()
	if r != nil {
		return r
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r = b.recs[tap]; r == nil {
		r = &Record{}
		b.recs[tap] = r
	}
	return r
}

// Forget drops tap's record: its binding changed or went away, so what
// its VM did no longer describes it, and its next ACK is a new lease.
func (b *Book) Forget(tap string) {
	b.mu.Lock()
	delete(b.recs, tap)
	b.mu.Unlock()
}

// Len returns how many records the book holds.
func (b *Book) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.recs)
}

func (b *Book) debug() bool { return b.log.Enabled(context.Background(), slog.LevelDebug) }

// line logs one VM-triggered lease line at INFO, or at debug when the
// TAP's line budget is spent. Called with r.mu held.
func (b *Book) line(r *Record, now int64, msg string, args ...any) {
	ok, suppressed := r.lines.allow(now)
	if !ok {
		if b.debug() {
			b.log.Debug(msg, args...)
		}
		return
	}
	if suppressed > 0 {
		args = append(args, "SUPPRESSED", suppressed)
	}
	b.log.Info(msg, args...)
}

func now() int64 { return time.Now().UnixNano() }

// DHCPv4Request records a DHCPv4 request from a's VM and what it says
// about itself. It does not allocate.
func (b *Book) DHCPv4Request(a *binding.Active, msgType uint8, info packets.ClientInfo) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	if int(msgType) < numV4Types {
		r.v4Last[msgType] = t
	}
	r.lastV4Type = msgType
	// A request that leaves an option out does not erase what an earlier
	// one said: a renewing client often sends less than at boot.
	if info.HostName != nil {
		r.hostName.set(info.HostName)
	}
	if info.VendorClass != nil {
		r.vendorClass.set(info.VendorClass)
	}
	if info.UserClass != nil {
		r.userClass.set(info.UserClass)
	}
	if info.ClientID != nil {
		r.clientID.set(info.ClientID)
	}
	if info.ParamRequestList != nil {
		r.paramList.set(info.ParamRequestList)
	}
	r.mu.Unlock()
}

// DHCPv4Ack records an ACK giving ip to a's VM for lease. The first one
// after the binding appeared or changed (or after a RELEASE) is the VM
// being configured: an INFO line and a lease event; the others are
// renewals, logged at debug only.
func (b *Book) DHCPv4Ack(a *binding.Active, ip netip.Addr, lease time.Duration) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	first := !r.configured || r.ackIP != ip
	r.ackIP, r.ackAt, r.leaseEnd, r.configured = ip, t, t+int64(lease), true
	if !first {
		r.mu.Unlock()
		if b.debug() {
			b.log.Debug("DHCPv4 lease renewed", "TAP", a.Name, "MAC", a.MAC.String(), "IP", ip.String())
		}
		return
	}
	ev := b.leaseEvent(KindLease, a, r, t)
	ev.IP, ev.LeaseEnd = ip, time.Unix(0, r.leaseEnd)
	b.line(r, t, "VM configured", "TAP", a.Name, "MAC", a.MAC.String(), "IP", ip.String(),
		"CLIENT_HOSTNAME", ev.ClientHostname, "VENDOR_CLASS", ev.VendorClass, "LEASE_END", ev.LeaseEnd.UTC().Format(time.RFC3339))
	r.mu.Unlock()
	b.emit(ev)
}

// DHCPv4NAK records a NAK sent to a's VM, which asked for requested.
func (b *Book) DHCPv4NAK(a *binding.Active, requested netip.Addr) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	ev := b.leaseEvent(KindNAK, a, r, t)
	ev.IP = requested
	b.line(r, t, "DHCPv4 NAK: the VM asked for an address not bound", "TAP", a.Name, "MAC", a.MAC.String(),
		"IP", a.IP.String(), "REQUESTED", requested.String())
	r.mu.Unlock()
	b.emit(ev)
}

// DHCPv4Release records a RELEASE from a's VM; its next ACK is a new
// lease.
func (b *Book) DHCPv4Release(a *binding.Active, ip netip.Addr) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	r.configured = false
	ev := b.leaseEvent(KindRelease, a, r, t)
	ev.IP = ip
	b.line(r, t, "DHCPv4 RELEASE: the VM gave its address back", "TAP", a.Name, "MAC", a.MAC.String(), "IP", ip.String())
	r.mu.Unlock()
	b.emit(ev)
}

// DHCPv4Decline records a DECLINE from a's VM. The responder logs it
// itself (rate-limited); this only raises the event.
func (b *Book) DHCPv4Decline(a *binding.Active, ip netip.Addr) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	r.configured = false
	ev := b.leaseEvent(KindDecline, a, r, t)
	ev.IP = ip
	r.mu.Unlock()
	b.emit(ev)
}

// DHCPv6Request records a DHCPv6 message from a's VM and its DUID.
func (b *Book) DHCPv6Request(a *binding.Active, msgType uint8, duid []byte) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	if int(msgType) < numV6Types {
		r.v6Last[msgType] = t
	}
	r.lastV6Type = msgType
	if duid != nil {
		r.duidLen = uint8(copy(r.duid[:], duid))
	}
	r.mu.Unlock()
}

// DHCPv6Leased records addr handed out to a's VM in a DHCPv6 Reply; the
// first time for this binding it is logged at INFO and raises a lease6
// event.
func (b *Book) DHCPv6Leased(a *binding.Active, addr netip.Addr) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	if !r.addLeased6(addr, t) {
		r.mu.Unlock()
		if b.debug() {
			b.log.Debug("DHCPv6 lease renewed", "TAP", a.Name, "IP6", addr.String())
		}
		return
	}
	ev := b.leaseEvent(KindLease6, a, r, t)
	ev.Address6 = addr
	b.line(r, t, "DHCPv6 address handed out", "TAP", a.Name, "MAC", a.MAC.String(), "IP6", addr.String(),
		"DUID", hexString(r.duid[:r.duidLen]))
	r.mu.Unlock()
	b.emit(ev)
}

// DHCPv6Delegated records the prefixes handed out to a's VM in the IA_PD
// of a DHCPv6 Reply; each one delegated for the first time for this
// binding is logged at INFO and raises a prefix6 event, the renewals are
// logged at debug. It does not allocate when nothing is new.
func (b *Book) DHCPv6Delegated(a *binding.Active, prefixes []netip.Prefix) {
	r := b.record(a.Name)
	t := now()
	for _, p := range prefixes {
		r.mu.Lock()
		if !r.addDelegated6(p, t) {
			r.mu.Unlock()
			if b.debug() {
				b.log.Debug("DHCPv6 prefix renewed", "TAP", a.Name, "PREFIX", p.String())
			}
			continue
		}
		ev := b.leaseEvent(KindPrefix6, a, r, t)
		ev.Prefix6 = p
		b.line(r, t, "prefix delegated", "TAP", a.Name, "MAC", a.MAC.String(), "PREFIX", p.String(),
			"DUID", hexString(r.duid[:r.duidLen]))
		r.mu.Unlock()
		b.emit(ev)
	}
}

// RS records a router solicitation from a's VM.
func (b *Book) RS(a *binding.Active) {
	r := b.record(a.Name)
	t := now()
	r.mu.Lock()
	r.rsLast = t
	r.mu.Unlock()
}

// NS records a neighbor solicitation from a's VM and learns the address
// it shows the VM uses: the target of a DAD probe, else the source (the
// VM resolving a neighbor, often the router, from an address it sends
// from). A new address is logged at INFO and raises an address6 event.
// The caller has checked the Ethernet source is the binding's MAC (or
// MACSPOOF); addresses the binding does not let the VM use are not
// learned, so that a VM naming others' addresses neither publishes them
// nor pushes its real ones out of the bounded record.
func (b *Book) NS(a *binding.Active, ns *packets.NS) {
	r := b.record(a.Name)
	t := now()
	addr, how := ns.Src, SeenNS
	if ns.IsDAD() {
		addr, how = ns.Target, SeenDAD
	}
	r.mu.Lock()
	r.nsLast = t
	if !mayUse(a, addr) || !r.seeAddr(addr, how, t) {
		r.mu.Unlock()
		return
	}
	ev := b.leaseEvent(KindAddress6, a, r, t)
	ev.Address6 = addr
	b.line(r, t, "new IPv6 address seen", "TAP", a.Name, "MAC", a.MAC.String(), "IP6", addr.String(), "HOW", how.String())
	r.mu.Unlock()
	b.emit(ev)
}

// mayUse reports whether addr is one a's VM may configure: link-local,
// in its SUBNET6 or PREFIX6, its EUI64, one of IPS6, or inside ROUTED6 or
// DELEGATED6 (numbered behind the VM, usable by it too).
func mayUse(a *binding.Active, addr netip.Addr) bool {
	if addr.IsLinkLocalUnicast() || addr == a.EUI64 || a.Subnet6.Contains(addr) || a.Prefix6.Contains(addr) {
		return true
	}
	for _, ip := range a.IPs6 {
		if ip == addr {
			return true
		}
	}
	for _, ps := range [...][]netip.Prefix{a.Routed6, a.Delegated6} {
		for _, p := range ps {
			if p.Contains(addr) {
				return true
			}
		}
	}
	return false
}

// leaseEvent starts an event of kind for a with what r knows of the
// client. Called with r.mu held.
func (b *Book) leaseEvent(kind Kind, a *binding.Active, r *Record, t int64) Event {
	return Event{
		Kind: kind, Time: time.Unix(0, t), TAP: a.Name, Binding: &a.Binding, State: binding.StateActive.String(),
		MAC:            a.MAC,
		ClientHostname: printable(r.hostName.get()),
		VendorClass:    printable(r.vendorClass.get()),
		UserClass:      printable(r.userClass.get()),
		ClientID:       bytes.Clone(r.clientID.get()),
	}
}

// Seen6 returns the IPv6 addresses tap's VM was seen using, oldest first.
func (b *Book) Seen6(tap string) []netip.Addr {
	b.mu.RLock()
	r := b.recs[tap]
	b.mu.RUnlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]netip.Addr, 0, r.nseen)
	for i := range r.nseen {
		out = append(out, r.seen[i].addr)
	}
	return out
}
