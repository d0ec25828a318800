package responder

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// Prompt Router Advertisements. A VM that sends a DHCPv4 DISCOVER or a
// Duplicate Address Detection probe is bringing its interface up. Left to
// itself it solicits routers only once its link-local address has passed
// DAD (a random delay of up to a second, then a second of waiting, on
// Linux), and only then starts DAD of the address it forms from the RA's
// prefix: two rounds of DAD one after the other. An RA sent as soon as
// the VM shows itself lets both rounds run at once, so the VM has a
// usable IPv6 address about a second and a half sooner (a Linux guest: 1.4
// against 3.4 s, docs/performance.md). RFC 4861 §6.2.4 allows a router
// such advertisements when an interface starts to advertise: for a TAP,
// when its VM comes up. One is sent at most every promptRAGap per TAP
// (MIN_DELAY_BETWEEN_RAS), so a chatty VM gets no more than that.
const promptRAGap = 3 * time.Second

// raPrompts remembers, per TAP, when the last prompt advertisement went.
type raPrompts struct {
	mu   sync.RWMutex
	last map[int]*atomic.Int64 // TAP index → time since the responder's epoch
}

// entry returns the TAP's clock, creating it on the VM's first sign.
func (p *raPrompts) entry(index int) *atomic.Int64 {
	p.mu.RLock()
	e := p.last[index]
	p.mu.RUnlock()
	if e != nil {
		return e
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e = p.last[index]; e == nil {
		if p.last == nil {
			p.last = make(map[int]*atomic.Int64)
		}
		e = new(atomic.Int64)
		p.last[index] = e
	}
	return e
}

// keepOnly forgets the TAPs that are not in bound.
func (p *raPrompts) keepOnly(bound map[raKey]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.last) == 0 {
		return
	}
	indexes := make(map[int]bool, len(bound))
	for k := range bound {
		indexes[k.index] = true
	}
	for index := range p.last {
		if !indexes[index] {
			delete(p.last, index)
		}
	}
}

// promptRA sends a's VM an unsolicited Router Advertisement unless one
// went less than promptRAGap ago, or the VM gets none at all.
func (r *Responder) promptRA(a *binding.Active, o *Options) {
	if !o.IPv6 || o.RAPeriod <= 0 || !a.HasIPv6() || v6Mode(a, o) == ModeNone {
		return
	}
	e := r.prompts.entry(a.TapIndex)
	now := int64(time.Since(r.epoch))
	last := e.Load()
	if last != 0 && time.Duration(now-last) < promptRAGap {
		return
	}
	if !e.CompareAndSwap(last, now) {
		return // another queue's goroutine is sending it
	}
	r.raSend(a, o, "prompt")
}
