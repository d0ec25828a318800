package dnsreg

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// A refusedError is a server's non-zero answer to an update.
type refusedError struct {
	server, zone, key string
	rcode             int
	tsigErr           uint16
}

func (e *refusedError) Error() string {
	s := fmt.Sprintf("server %s answered %s to the update of zone %s", e.server, rcodeName(e.rcode), e.zone)
	if e.tsigErr != 0 {
		s += fmt.Sprintf(" (TSIG error %s)", rcodeName(int(e.tsigErr)))
	}
	if e.key != "" {
		s += " signed with key " + e.key
	} else {
		s += " (unsigned: no tsig_name)"
	}
	return s
}

func rcodeName(rc int) string {
	switch rc {
	case dns.RcodeBadSig:
		return "BADSIG"
	case dns.RcodeBadKey:
		return "BADKEY"
	case dns.RcodeBadTime:
		return "BADTIME"
	}
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// exchange sends an update (or any message) for zone and returns the
// server's refusal as a *refusedError.
func (r *Registrar) exchange(ctx context.Context, m *dns.Msg, zone string) error {
	c := &dns.Client{Net: "tcp", Timeout: r.cfg.Timeout}
	if k := r.cfg.Key; k.Name != "" {
		c.TsigSecret = map[string]string{k.Name: k.Secret}
		m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	}
	resp, _, err := c.ExchangeContext(ctx, m, r.cfg.Server)
	if resp != nil && resp.Rcode != dns.RcodeSuccess {
		e := &refusedError{server: r.cfg.Server, zone: zone, key: r.cfg.Key.Name, rcode: resp.Rcode}
		if t := resp.IsTsig(); t != nil {
			e.tsigErr = t.Error
		}
		return e
	}
	if err != nil {
		return fmt.Errorf("no answer from %s for zone %s: %w", r.cfg.Server, zone, err)
	}
	return nil
}

func isRcode(err error, rc int) bool {
	var e *refusedError
	return errors.As(err, &e) && e.rcode == rc
}

func (r *Registrar) ttl() uint32 { return uint32(r.cfg.TTL / time.Second) }

func (r *Registrar) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: r.ttl()}
}

func (r *Registrar) ownerTXT(name string) *dns.TXT {
	return &dns.TXT{Hdr: r.hdr(name, dns.TypeTXT), Txt: []string{r.owner}}
}

func anyRR(name string, t uint16) dns.RR {
	return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassANY}}
}

// publish replaces the name's A, AAAA and owner TXT records with want's,
// then the PTR records of its addresses; a name or addresses registered
// before (have) that are gone are withdrawn.
func (r *Registrar) publish(ctx context.Context, want, have host, haveOK bool) error {
	if haveOK && have.Name != want.Name {
		if err := r.withdraw(ctx, have); err != nil {
			return err
		}
		haveOK = false
	}
	m := new(dns.Msg)
	m.SetUpdate(r.cfg.Zone)
	m.RemoveRRset([]dns.RR{anyRR(want.Name, dns.TypeA), anyRR(want.Name, dns.TypeAAAA), anyRR(want.Name, dns.TypeTXT)})
	add := []dns.RR{r.ownerTXT(want.Name)}
	for _, a := range want.Addrs {
		if a.Is4() {
			add = append(add, &dns.A{Hdr: r.hdr(want.Name, dns.TypeA), A: a.AsSlice()})
		} else {
			add = append(add, &dns.AAAA{Hdr: r.hdr(want.Name, dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	m.Insert(add)
	if err := r.exchange(ctx, m, r.cfg.Zone); err != nil {
		return err
	}
	var gone []netip.Addr
	if haveOK {
		for _, a := range have.Addrs {
			if !slices.Contains(want.Addrs, a) {
				gone = append(gone, a)
			}
		}
	}
	return r.updatePTRs(ctx, want.Name, want.Addrs, have.Name, gone)
}

// withdraw removes a name this host published, unless another host took
// it over since (its TXT marker is no longer ours), and the PTR records
// that point to it.
func (r *Registrar) withdraw(ctx context.Context, have host) error {
	m := new(dns.Msg)
	m.SetUpdate(r.cfg.Zone)
	m.Used([]dns.RR{r.ownerTXT(have.Name)})
	m.RemoveRRset([]dns.RR{anyRR(have.Name, dns.TypeA), anyRR(have.Name, dns.TypeAAAA), anyRR(have.Name, dns.TypeTXT)})
	err := r.exchange(ctx, m, r.cfg.Zone)
	switch {
	case isRcode(err, dns.RcodeNXRrset):
		r.log.Info("DNS name not removed: another host owns it now", "NAME", have.Name, "SERVER", r.cfg.Server)
		return nil
	case err != nil:
		return err
	}
	return r.updatePTRs(ctx, "", nil, have.Name, have.Addrs)
}

// updatePTRs points the PTR records of addrs to name, and removes the
// PTR records of gone that point to oldName, one update per reverse zone.
// Addresses outside every reverse zone get no PTR.
func (r *Registrar) updatePTRs(ctx context.Context, name string, addrs []netip.Addr, oldName string, gone []netip.Addr) error {
	msgs := map[string]*dns.Msg{}
	msg := func(zone string) *dns.Msg {
		m := msgs[zone]
		if m == nil {
			m = new(dns.Msg)
			m.SetUpdate(zone)
			msgs[zone] = m
		}
		return m
	}
	for _, a := range addrs {
		rev, zone := r.reverse(a)
		if zone == "" {
			continue
		}
		m := msg(zone)
		m.RemoveRRset([]dns.RR{anyRR(rev, dns.TypePTR)})
		m.Insert([]dns.RR{&dns.PTR{Hdr: r.hdr(rev, dns.TypePTR), Ptr: name}})
	}
	for _, a := range gone {
		rev, zone := r.reverse(a)
		if zone == "" {
			continue
		}
		ptr := &dns.PTR{Hdr: r.hdr(rev, dns.TypePTR), Ptr: oldName}
		msg(zone).Remove([]dns.RR{ptr})
	}
	zones := make([]string, 0, len(msgs))
	for z := range msgs {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	for _, z := range zones {
		if err := r.exchange(ctx, msgs[z], z); err != nil {
			return err
		}
	}
	return nil
}

// reverse returns addr's PTR name and the longest reverse zone holding it,
// "" when none does.
func (r *Registrar) reverse(addr netip.Addr) (string, string) {
	rev, err := dns.ReverseAddr(addr.String())
	if err != nil {
		return "", ""
	}
	best := ""
	for _, z := range r.cfg.ReverseZones {
		if dns.IsSubDomain(z, rev) && len(z) > len(best) {
			best = z
		}
	}
	return rev, best
}

// reconcile reads the zone (AXFR) and withdraws the names marked as this
// host's that no active binding publishes any more: what a previous run
// registered before its bindings went while the daemon was down. A
// server refusing the transfer is reported once and the reconcile
// skipped; no answer at all is an error, retried.
func (r *Registrar) reconcile(ctx context.Context) error {
	t := &dns.Transfer{DialTimeout: r.cfg.Timeout, ReadTimeout: r.cfg.Timeout, WriteTimeout: r.cfg.Timeout}
	m := new(dns.Msg)
	m.SetAxfr(r.cfg.Zone)
	if k := r.cfg.Key; k.Name != "" {
		t.TsigSecret = map[string]string{k.Name: k.Secret}
		m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	}
	ch, err := t.In(m, r.cfg.Server)
	if err != nil {
		return fmt.Errorf("zone transfer of %s from %s: %w", r.cfg.Zone, r.cfg.Server, err)
	}
	owned := map[string]*host{}
	addrs := map[string][]netip.Addr{}
	for env := range ch {
		if env.Error != nil {
			if strings.Contains(env.Error.Error(), "rcode") {
				r.log.Warn("DNS zone transfer refused: names left by a previous run are not cleaned up (allow-transfer for the key)",
					"ZONE", r.cfg.Zone, "SERVER", r.cfg.Server, "KEY", r.keyName(), "error", env.Error.Error())
				r.setReconciled("transfer refused: " + env.Error.Error())
				return nil
			}
			return fmt.Errorf("zone transfer of %s from %s: %w", r.cfg.Zone, r.cfg.Server, env.Error)
		}
		for _, rr := range env.RR {
			name := dns.CanonicalName(rr.Header().Name)
			switch v := rr.(type) {
			case *dns.TXT:
				if len(v.Txt) == 1 && v.Txt[0] == r.owner {
					owned[name] = &host{Name: name}
				}
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					addrs[name] = append(addrs[name], a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					addrs[name] = append(addrs[name], a)
				}
			}
		}
	}
	r.mu.Lock()
	live := map[string]bool{}
	for _, h := range r.desired {
		live[h.Name] = true
	}
	r.mu.Unlock()
	for name, h := range owned {
		if live[name] {
			continue
		}
		h.Addrs = addrs[name]
		if err := r.withdraw(ctx, *h); err != nil {
			return err
		}
		r.Stats.Removed.Add(1)
		r.log.Info("DNS records of a binding gone while the daemon was down removed", "NAME", name, "SERVER", r.cfg.Server)
	}
	r.setReconciled("")
	return nil
}

func (r *Registrar) setReconciled(note string) {
	r.mu.Lock()
	r.reconciled, r.reconErr = true, note
	r.mu.Unlock()
}
