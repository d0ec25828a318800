package dnsreg_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
	"github.com/nfdhcpd/nfdhcpd/binding"
)

// fakeServer answers updates over TCP: the first failFirst with SERVFAIL,
// then success; it records each update's sections as text.
type fakeServer struct {
	mu        sync.Mutex
	failFirst int
	updates   []string
	addr      string
}

func startFake(t *testing.T, failFirst int) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: no loopback TCP: %v", err)
	}
	f := &fakeServer{failFirst: failFirst, addr: ln.Addr().String()}
	// The library's default accept function refuses updates (NOTIMP).
	accept := func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept }
	srv := &dns.Server{Listener: ln, MsgAcceptFunc: accept, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		f.mu.Lock()
		if r.Opcode == dns.OpcodeUpdate {
			var b strings.Builder
			b.WriteString(r.Question[0].Name)
			for _, rr := range r.Answer {
				b.WriteString(" prereq:" + rr.String())
			}
			for _, rr := range r.Ns {
				b.WriteString(" | " + rr.String())
			}
			f.updates = append(f.updates, b.String())
			if f.failFirst > 0 {
				f.failFirst--
				m.Rcode = dns.RcodeServerFailure
			}
		} else {
			m.Rcode = dns.RcodeRefused // no zone transfers here
		}
		f.mu.Unlock()
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return f
}

func (f *fakeServer) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.updates...)
}

func active(name, ip, host string) binding.Status {
	return binding.Status{Name: name, State: binding.StateActive, Binding: &binding.Binding{
		Name: name, IP: netip.MustParseAddr(ip), Hostname: host,
	}}
}

// TestRegistrarRetriesAndWithdraws checks that a failed update is retried
// with backoff until it succeeds, that a binding going is withdrawn only
// with the owner marker as prerequisite, and that SetBindings never waits
// for the server.
func TestRegistrarRetriesAndWithdraws(t *testing.T) {
	f := startFake(t, 2)
	r, err := dnsreg.New(dnsreg.Config{
		Server: f.addr, Zone: "vms.example.org", ReverseZones: []string{"2.0.192.in-addr.arpa"},
		Owner: "hv1", RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	start := time.Now()
	r.SetBindings([]binding.Status{active("tap1", "192.0.2.10", "vm1")})
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("SetBindings took %v", took)
	}
	waitState(t, r, "tap1", dnsreg.StateRegistered)
	ups := f.got()
	// Two refused attempts of the forward update, the third passes, then
	// the PTR update.
	if len(ups) != 4 || ups[0] != ups[2] || !strings.HasPrefix(ups[3], "2.0.192.in-addr.arpa.") {
		t.Fatalf("updates:\n%s", strings.Join(ups, "\n"))
	}
	for _, want := range []string{"vm1.vms.example.org.\t300\tIN\tA\t192.0.2.10", `"nfdhcpd owner=hv1"`} {
		if !strings.Contains(ups[2], want) {
			t.Errorf("forward update lacks %s: %s", want, ups[2])
		}
	}
	if st := r.Status(); st.Registered != 1 || st.Failures != 2 {
		t.Errorf("status = %+v", st)
	}
	r.SetBindings(nil)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok := r.Name("tap1"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tap1 never withdrawn")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ups = f.got()
	withdraw := ups[4]
	if !strings.Contains(withdraw, `prereq:vm1.vms.example.org.`) || !strings.Contains(withdraw, `"nfdhcpd owner=hv1"`) {
		t.Errorf("withdrawal without the owner prerequisite: %s", withdraw)
	}
}

func waitState(t *testing.T, r *dnsreg.Registrar, tap, state string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if n, ok := r.Name(tap); ok && n.State == state {
			return
		}
		if time.Now().After(deadline) {
			n, _ := r.Name(tap)
			t.Fatalf("%s never %s: %+v", tap, state, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRegistrarRegistersSeenAddresses checks register_seen_ipv6: an
// address6 event for a published binding adds the address the VM was
// seen using as an AAAA record; link-local ones never are.
func TestRegistrarRegistersSeenAddresses(t *testing.T) {
	f := startFake(t, 0)
	seen := []netip.Addr{netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8:1::beef")}
	var mu sync.Mutex
	n := 0
	r, err := dnsreg.New(dnsreg.Config{
		Server: f.addr, Zone: "vms.example.org", Owner: "hv1", RegisterSeen: true,
		Seen: func(string) []netip.Addr { mu.Lock(); defer mu.Unlock(); return seen[:n] },
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	r.SetBindings([]binding.Status{active("tap1", "192.0.2.10", "vm1")})
	waitState(t, r, "tap1", dnsreg.StateRegistered)
	mu.Lock()
	n = 2
	mu.Unlock()
	r.Emit(activity.Event{Kind: activity.KindAddress6, TAP: "tap1", Address6: seen[1]})
	deadline := time.Now().Add(2 * time.Second)
	for {
		if nr, ok := r.Name("tap1"); ok && nr.State == dnsreg.StateRegistered && len(nr.Addresses) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("seen address never published: %+v", f.got())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ups := f.got()
	last := ups[len(ups)-1]
	if !strings.Contains(last, "AAAA\t2001:db8:1::beef") || strings.Contains(last, "fe80::1") {
		t.Errorf("last update: %s", last)
	}
}
