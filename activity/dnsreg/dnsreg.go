// Package dnsreg publishes the bindings' names in DNS with RFC 2136
// dynamic updates signed with TSIG: A, AAAA and PTR records while a
// binding with a HOSTNAME is active, removed when it goes. Every record
// set it writes carries a TXT owner marker naming this host, so that at
// start it removes the names a previous run left behind, and never those
// another host published. It runs off the packet path: a DNS server that
// is down, slow or refusing delays nothing but its own retries.
package dnsreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/binding"
)

// Defaults of a Config.
const (
	DefaultTTL      = 300 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultRetryMin = 500 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
)

// A Config says where and how to register.
type Config struct {
	Server       string   // host:port of the primary server
	Zone         string   // forward zone
	ReverseZones []string // in-addr.arpa and ip6.arpa zones
	TTL          time.Duration
	Key          Key    // TSIG key; no signature when Key.Name is empty
	Owner        string // what the TXT marker names: this host
	// RegisterSeen publishes the IPv6 addresses the VMs were seen using
	// (Seen gives them) besides the bindings' own.
	RegisterSeen bool
	Seen         func(tap string) []netip.Addr
	Timeout      time.Duration // of one exchange
	RetryMin     time.Duration // first retry after a failure, doubling
	RetryMax     time.Duration // longest wait between retries
}

// A host is what one TAP's binding publishes.
type host struct {
	Name  string // fully qualified, lower case
	Addrs []netip.Addr
}

func (h host) equal(o host) bool { return h.Name == o.Name && slices.Equal(h.Addrs, o.Addrs) }

// Entry states.
const (
	StatePending    = "pending"    // an update is due
	StateRegistered = "registered" // the server holds what the binding says
	StateFailing    = "failing"    // the latest update failed; retried
)

type entry struct {
	state     string
	lastErr   string
	attempts  int
	next      time.Time // when a failing entry is retried
	changedAt time.Time
}

// Stats are a Registrar's counters.
type Stats struct {
	Updates, Failures, Removed atomic.Uint64
}

// A Registrar keeps the DNS in line with the active bindings.
type Registrar struct {
	cfg   Config
	log   *slog.Logger
	owner string // the TXT marker's text
	Stats Stats

	mu         sync.Mutex
	desired    map[string]host   // by TAP: active bindings with a HOSTNAME
	registered map[string]host   // by TAP: what the server was last told
	entries    map[string]*entry // by TAP, for every desired or registered one
	dirty      map[string]bool
	reconciled bool
	reconErr   string
	wake       chan struct{}
	// ready is closed by the first SetBindings: before it, every name in
	// the zone would look stale to the reconcile.
	ready     chan struct{}
	readyOnce sync.Once
}

// New checks cfg and returns a registrar; Run does the work.
func New(cfg Config, log *slog.Logger) (*Registrar, error) {
	if _, _, err := splitServer(cfg.Server); err != nil {
		return nil, err
	}
	if cfg.Zone == "" {
		return nil, errors.New("dnsreg: no zone")
	}
	cfg.Zone = dns.CanonicalName(cfg.Zone)
	for i, z := range cfg.ReverseZones {
		cfg.ReverseZones[i] = dns.CanonicalName(z)
	}
	if cfg.Key.Name != "" {
		cfg.Key.Name = dns.CanonicalName(cfg.Key.Name)
		alg, err := Algorithm(cfg.Key.Algorithm)
		if err != nil {
			return nil, err
		}
		cfg.Key.Algorithm = alg
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	return &Registrar{
		cfg: cfg, log: log, owner: "nfdhcpd owner=" + cfg.Owner,
		desired: map[string]host{}, registered: map[string]host{}, entries: map[string]*entry{},
		dirty: map[string]bool{}, wake: make(chan struct{}, 1), ready: make(chan struct{}),
	}, nil
}

func splitServer(s string) (string, string, error) {
	if s == "" {
		return "", "", errors.New("dnsreg: no server")
	}
	addr, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", "", fmt.Errorf("dnsreg: server %q is not address:port: %w", s, err)
	}
	return addr.Addr().String(), fmt.Sprint(addr.Port()), nil
}

// nameOf returns the DNS name of a binding's HOSTNAME: as it is when it
// lies in the zone, else its first label in the zone.
func (r *Registrar) nameOf(hostname string) string {
	name := dns.CanonicalName(hostname)
	if dns.IsSubDomain(r.cfg.Zone, name) && name != r.cfg.Zone {
		return name
	}
	first, _, _ := strings.Cut(strings.TrimSuffix(hostname, "."), ".")
	return dns.CanonicalName(first + "." + r.cfg.Zone)
}

// SetBindings takes the binding table's statuses: the active bindings with
// a HOSTNAME are the ones published. It never blocks on the network.
func (r *Registrar) SetBindings(statuses []binding.Status) {
	want := map[string]host{}
	for _, s := range statuses {
		if s.State != binding.StateActive || s.Binding == nil || s.Binding.Hostname == "" {
			continue
		}
		b := s.Binding
		var addrs []netip.Addr
		if b.IP.IsValid() {
			addrs = append(addrs, b.IP)
		}
		if b.EUI64.IsValid() {
			addrs = append(addrs, b.EUI64)
		}
		want[s.Name] = host{Name: r.nameOf(b.Hostname), Addrs: addrs}
	}
	r.mu.Lock()
	for tap, h := range want {
		if old, ok := r.desired[tap]; !ok || !old.equal(h) {
			r.markLocked(tap)
		}
	}
	for tap := range r.desired {
		if _, ok := want[tap]; !ok {
			r.markLocked(tap)
		}
	}
	r.desired = want
	r.mu.Unlock()
	r.readyOnce.Do(func() { close(r.ready) })
	r.poke()
}

// Emit is the registrar's activity.Sink: with RegisterSeen, a new IPv6
// address in use is published.
func (r *Registrar) Emit(ev activity.Event) {
	if !r.cfg.RegisterSeen || ev.Kind != activity.KindAddress6 || ev.Address6.IsLinkLocalUnicast() {
		return
	}
	r.mu.Lock()
	_, ok := r.desired[ev.TAP]
	if ok {
		r.markLocked(ev.TAP)
	}
	r.mu.Unlock()
	if ok {
		r.poke()
	}
}

// markLocked makes tap due for an update now.
func (r *Registrar) markLocked(tap string) {
	r.dirty[tap] = true
	e := r.entries[tap]
	if e == nil {
		e = &entry{}
		r.entries[tap] = e
	}
	e.state, e.next, e.attempts, e.changedAt = StatePending, time.Time{}, 0, time.Now()
}

func (r *Registrar) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// want returns what tap should publish, with the addresses it was seen
// using when RegisterSeen is on. Called with r.mu held.
func (r *Registrar) wantLocked(tap string) (host, bool) {
	h, ok := r.desired[tap]
	if !ok || !r.cfg.RegisterSeen || r.cfg.Seen == nil {
		return h, ok
	}
	addrs := slices.Clone(h.Addrs)
	for _, a := range r.cfg.Seen(tap) {
		if !slices.Contains(addrs, a) && !a.IsLinkLocalUnicast() {
			addrs = append(addrs, a)
		}
	}
	h.Addrs = addrs
	return h, true
}

// Run does the updates until ctx is done: first the reconcile of what a
// previous run left, then every change, retrying failures with backoff.
func (r *Registrar) Run(ctx context.Context) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	reconRetry := r.cfg.RetryMin
	var reconNext time.Time
	for {
		now := time.Now()
		if !r.reconciledNow() && !now.Before(reconNext) {
			if err := r.reconcile(ctx); err != nil {
				r.log.Warn("DNS reconcile of names left by a previous run failed; retrying", "SERVER", r.cfg.Server, "ZONE", r.cfg.Zone,
					"KEY", r.keyName(), "error", err, "retry_in", reconRetry.String())
				reconNext, reconRetry = now.Add(reconRetry), min(2*reconRetry, r.cfg.RetryMax)
			}
		}
		for _, tap := range r.due(now) {
			if ctx.Err() != nil {
				return
			}
			r.sync(ctx, tap)
		}
		wait := r.nextWake(reconNext)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

func (r *Registrar) reconciledNow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconciled
}

// due returns the TAPs whose update is due at now, sorted.
func (r *Registrar) due(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for tap := range r.dirty {
		if e := r.entries[tap]; e == nil || !now.Before(e.next) {
			out = append(out, tap)
		}
	}
	slices.Sort(out)
	return out
}

// nextWake returns how long until the next retry.
func (r *Registrar) nextWake(reconNext time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := time.Hour
	now := time.Now()
	if !r.reconciled && !reconNext.IsZero() {
		wait = min(wait, reconNext.Sub(now))
	}
	for tap := range r.dirty {
		if e := r.entries[tap]; e != nil {
			wait = min(wait, e.next.Sub(now))
		}
	}
	return max(wait, time.Millisecond)
}

// sync brings tap's records in line with its binding.
func (r *Registrar) sync(ctx context.Context, tap string) {
	r.mu.Lock()
	want, wantOK := r.wantLocked(tap)
	have, haveOK := r.registered[tap]
	delete(r.dirty, tap)
	r.mu.Unlock()

	var err error
	switch {
	case wantOK && haveOK && want.equal(have):
	case wantOK:
		err = r.publish(ctx, want, have, haveOK)
	case haveOK:
		err = r.withdraw(ctx, have)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entries[tap]
	if e == nil {
		e = &entry{}
		r.entries[tap] = e
	}
	if r.dirty[tap] {
		return // changed again meanwhile: the next pass redoes it
	}
	if err != nil {
		r.Stats.Failures.Add(1)
		e.attempts++
		wait := min(r.cfg.RetryMin<<min(e.attempts-1, 16), r.cfg.RetryMax)
		e.next = time.Now().Add(wait)
		first := e.state != StateFailing || e.lastErr != err.Error()
		e.state, e.lastErr = StateFailing, err.Error()
		r.dirty[tap] = true
		name := want.Name
		if !wantOK {
			name = have.Name
		}
		if first {
			r.log.Warn("DNS update failed; retrying", "TAP", tap, "NAME", name, "SERVER", r.cfg.Server, "KEY", r.keyName(),
				"error", err.Error(), "retry_in", wait.String())
		} else if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("DNS update failed again", "TAP", tap, "NAME", name, "error", err.Error(), "retry_in", wait.String())
		}
		return
	}
	if wantOK {
		if !haveOK || !want.equal(have) {
			r.Stats.Updates.Add(1)
			r.log.Info("DNS records published", "TAP", tap, "NAME", want.Name, "ADDRESSES", addrList(want.Addrs), "SERVER", r.cfg.Server)
		}
		r.registered[tap] = want
		e.state, e.lastErr, e.attempts = StateRegistered, "", 0
		return
	}
	if haveOK {
		r.Stats.Removed.Add(1)
		r.log.Info("DNS records removed", "TAP", tap, "NAME", have.Name, "SERVER", r.cfg.Server)
	}
	delete(r.registered, tap)
	delete(r.entries, tap)
}

func (r *Registrar) keyName() string {
	if r.cfg.Key.Name == "" {
		return "(none)"
	}
	return r.cfg.Key.Name
}

func addrList(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}
