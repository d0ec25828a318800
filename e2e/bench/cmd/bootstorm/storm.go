package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A guest is one booting VM as its TAP sees it: what it sent, what it got
// back and when.
type guest struct {
	ifindex   int
	mac       net.HardwareAddr
	xid       uint32
	ip        netip.Addr   // the address its binding or dhcp-host gives it
	prefix    netip.Prefix // its /64
	linkLocal netip.Addr
	global    netip.Addr // its SLAAC address in prefix

	// DHCPv4: a REQUEST goes out once an OFFER came.
	offered, server netip.Addr
	tries4          int
	next4           time.Time
	// IPv6, as Linux does it: DAD of the link-local address (a probe after
	// a random delay, then DADWait without an answer), the RS once it is
	// usable; on an RA, solicited or not, DAD of the SLAAC address (its own
	// random delay) and, once the link-local address is usable, an
	// Information-Request.
	delayLL, delayGlobal time.Duration // the random delays before each probe
	llValid              time.Time     // when the link-local address is usable
	probedLL             bool
	globalProbe          time.Time // when the SLAAC address is probed; zero until an RA came
	globalValid          time.Time // when it is usable
	probedGlobal         bool
	triesRS, tries6      int
	nextRS, next6        time.Time

	v4, ra, v6 time.Time // the ACK, the first RA, the DHCPv6 Reply; zero until then
	duplicate  bool      // a DAD probe of the guest was answered
	wrong      string    // an answer that does not match its binding
}

// done reports whether the guest is configured at now: its ACK, its SLAAC
// address past DAD and the DHCPv6 Reply.
func (g *guest) done(now time.Time) bool {
	return !g.v4.IsZero() && !g.ra.IsZero() && !g.v6.IsZero() && !now.Before(g.globalValid)
}

// configuredAt is when the guest had all of it.
func (g *guest) configuredAt() time.Time {
	t := g.v4
	for _, x := range []time.Time{g.globalValid, g.v6} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// stormConfig is how the guests behave.
type stormConfig struct {
	// DADWait is how long a guest waits after probing an address before
	// it uses it (RFC 4862 RetransTimer; Linux waits 1 s).
	DADWait time.Duration
	// DADDelay bounds the random delay before each DAD probe (RFC 4862
	// §5.4.2; Linux draws it below rtr_solicit_delay, 1 s). Each guest's
	// delays come from Seed, the same for every server.
	DADDelay time.Duration
	Seed     uint64
	Timeout  time.Duration
}

// drawDelays gives g its two random DAD delays, the i-th guest's of the
// seed.
func (g *guest) drawDelays(cfg stormConfig, i int) {
	if cfg.DADDelay <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	g.delayLL = time.Duration(r.Int64N(int64(cfg.DADDelay)))
	g.delayGlobal = time.Duration(r.Int64N(int64(cfg.DADDelay)))
}

// Retransmission intervals: DHCPv4 as dhclient (1 s doubling to 8 s),
// RS every 4 s (RFC 4861 RTR_SOLICITATION_INTERVAL), Information-Request
// 1 s doubling (RFC 8415 INF_TIMEOUT).
func backoff(tries int, first, most time.Duration) time.Duration {
	d := first << min(tries-1, 10)
	return min(d, most)
}

// A storm boots every guest at the same instant from one AF_PACKET socket
// in the guests' namespace.
type storm struct {
	cfg    stormConfig
	fd     int
	mu     sync.Mutex
	guests map[int]*guest // by ifindex
	start  time.Time
	end    time.Time // when run returned
	sent   int
	resent int
	errors int
}

// openPacketSocket opens an AF_PACKET socket for every interface of the
// namespace ns.
func openPacketSocket(ns string) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return -1, err
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		return -1, err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return -1, err
	}
	defer netns.Set(orig)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, err
	}
	// Replies to 241 guests can arrive in one burst.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20); err != nil {
		unix.Close(fd)
		return -1, err
	}
	tv := unix.NsecToTimeval(int64(20 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *storm) send(g *guest, frame []byte) {
	proto := unix.ETH_P_IP
	if frame[12] == 0x86 {
		proto = unix.ETH_P_IPV6
	}
	err := unix.Sendto(s.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: g.ifindex, Protocol: htons(uint16(proto))})
	s.sent++
	if err != nil {
		s.errors++
	}
}

// drain throws away what reached the guests before they booted (the
// servers' start-up advertisements): a guest hears nothing before it is up.
func (s *storm) drain() {
	buf := make([]byte, 1<<16)
	for {
		if _, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// run boots the guests and returns when all are configured or the
// timeout passed.
func (s *storm) run() {
	s.mu.Lock()
	s.drain()
	s.start = time.Now()
	for _, g := range s.guests {
		s.send(g, dhcpv4Frame(g, layers.DHCPMsgTypeDiscover, netip.Addr{}, netip.Addr{}))
		g.tries4, g.next4 = 1, s.start.Add(backoff(1, time.Second, 8*time.Second))
		g.llValid = s.start.Add(g.delayLL + s.cfg.DADWait)
		g.nextRS = g.llValid
		s.retransmit(g, s.start) // the link-local probe, when it has no delay
	}
	s.mu.Unlock()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.receive(stop)
	}()
	deadline := s.start.Add(s.cfg.Timeout)
	for tick := time.NewTicker(5 * time.Millisecond); ; <-tick.C {
		now := time.Now()
		s.mu.Lock()
		all := true
		for _, g := range s.guests {
			s.retransmit(g, now)
			all = all && (g.done(now) || g.duplicate || g.wrong != "")
		}
		s.mu.Unlock()
		if all || now.After(deadline) {
			tick.Stop()
			break
		}
	}
	close(stop)
	wg.Wait()
	s.mu.Lock()
	s.end = time.Now()
	s.mu.Unlock()
}

// retransmit sends what is due for g at now.
func (s *storm) retransmit(g *guest, now time.Time) {
	if g.v4.IsZero() && now.After(g.next4) {
		g.tries4++
		g.next4 = now.Add(backoff(g.tries4, time.Second, 8*time.Second))
		if g.offered.IsValid() {
			s.send(g, dhcpv4Frame(g, layers.DHCPMsgTypeRequest, g.offered, g.server))
		} else {
			s.send(g, dhcpv4Frame(g, layers.DHCPMsgTypeDiscover, netip.Addr{}, netip.Addr{}))
		}
		if g.tries4 > 1 {
			s.resent++
		}
	}
	if !g.probedLL && !now.Before(s.start.Add(g.delayLL)) {
		g.probedLL = true
		s.send(g, dadFrame(g, g.linkLocal))
	}
	if g.ra.IsZero() && !now.Before(g.nextRS) {
		g.triesRS++
		g.nextRS = now.Add(4 * time.Second)
		s.send(g, rsFrame(g))
		if g.triesRS > 1 {
			s.resent++
		}
	}
	if !g.globalProbe.IsZero() && !g.probedGlobal && !now.Before(g.globalProbe) {
		g.probedGlobal = true
		s.send(g, dadFrame(g, g.global))
	}
	if !g.ra.IsZero() && g.v6.IsZero() && !now.Before(g.next6) {
		g.tries6++
		g.next6 = now.Add(backoff(g.tries6, time.Second, 32*time.Second))
		s.send(g, infoRequestFrame(g))
		if g.tries6 > 1 {
			s.resent++
		}
	}
}

// receive reads the guests' interfaces until stop is closed.
func (s *storm) receive(stop <-chan struct{}) {
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil {
			continue // the 20 ms timeout, or EINTR
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		now := time.Now()
		s.mu.Lock()
		if g := s.guests[ll.Ifindex]; g != nil {
			s.handle(g, buf[:n], now)
		}
		s.mu.Unlock()
	}
}

// handle advances g on a frame it received at now.
func (s *storm) handle(g *guest, frame []byte, now time.Time) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	if d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && d.Operation == layers.DHCPOpReply && d.Xid == g.xid {
		t := dhcpv4Option(d, layers.DHCPOptMessageType)
		yi, _ := netip.AddrFromSlice(d.YourClientIP.To4())
		switch {
		case len(t) != 1:
		case yi != g.ip:
			g.wrong = fmt.Sprintf("DHCPv4 offered %s, want %s", yi, g.ip)
		case layers.DHCPMsgType(t[0]) == layers.DHCPMsgTypeOffer && !g.offered.IsValid():
			g.offered = yi
			g.server, _ = netip.AddrFromSlice(dhcpv4Option(d, layers.DHCPOptServerID))
			s.send(g, dhcpv4Frame(g, layers.DHCPMsgTypeRequest, g.offered, g.server))
			g.tries4, g.next4 = 1, now.Add(time.Second)
		case layers.DHCPMsgType(t[0]) == layers.DHCPMsgTypeAck && g.v4.IsZero() && g.offered.IsValid():
			g.v4 = now
		}
		return
	}
	if ra, ok := p.Layer(layers.LayerTypeICMPv6RouterAdvertisement).(*layers.ICMPv6RouterAdvertisement); ok {
		if !g.ra.IsZero() {
			return
		}
		if !hasPrefix(ra, g.prefix) {
			g.wrong = fmt.Sprintf("RA without prefix %s", g.prefix)
			return
		}
		if ra.Flags&0x40 == 0 {
			g.wrong = "RA without the O flag: no DHCPv6 for DNS"
			return
		}
		// Linux takes an RA even while its link-local address is still
		// in DAD; the Information-Request waits for that address.
		g.ra = now
		g.globalProbe = now.Add(g.delayGlobal)
		g.globalValid = g.globalProbe.Add(s.cfg.DADWait)
		g.next6 = now
		if g.llValid.After(now) {
			g.next6 = g.llValid
		}
		s.retransmit(g, now)
		return
	}
	if na, ok := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok {
		if t, _ := netip.AddrFromSlice(na.TargetAddress); t == g.linkLocal || t == g.global {
			g.duplicate = true
		}
		return
	}
	if d, ok := p.Layer(layers.LayerTypeDHCPv6).(*layers.DHCPv6); ok && d.MsgType == layers.DHCPv6MsgTypeReply &&
		xid24(d.TransactionID) == g.xid&0xffffff && !g.ra.IsZero() && g.v6.IsZero() {
		g.v6 = now
	}
}

func hasPrefix(ra *layers.ICMPv6RouterAdvertisement, want netip.Prefix) bool {
	for _, o := range ra.Options {
		// Prefix information: length, flags, valid, preferred, reserved,
		// then the prefix.
		if o.Type == layers.ICMPv6OptPrefixInfo && len(o.Data) >= 30 {
			a, _ := netip.AddrFromSlice(o.Data[14:30])
			if netip.PrefixFrom(a, int(o.Data[0])) == want {
				return true
			}
		}
	}
	return false
}

// A stormResult is what one storm showed.
type stormResult struct {
	VMs, Configured, Duplicates, Wrong int
	FirstWrong                         string
	Last, P50                          time.Duration // to configured
	LastV4, LastRA, LastV6             time.Duration
	LastAddr                           time.Duration // the SLAAC address usable
	Sent, Resent, SendErrors           int
}

func (s *storm) result() stormResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := stormResult{VMs: len(s.guests), Sent: s.sent, Resent: s.resent, SendErrors: s.errors}
	var times []time.Duration
	since := func(t time.Time) time.Duration { return t.Sub(s.start) }
	for _, g := range s.guests {
		if g.duplicate {
			r.Duplicates++
		}
		if g.wrong != "" {
			r.Wrong++
			r.FirstWrong = g.wrong
		}
		if !g.v4.IsZero() {
			r.LastV4 = max(r.LastV4, since(g.v4))
		}
		if !g.ra.IsZero() {
			r.LastRA = max(r.LastRA, since(g.ra))
		}
		if !g.v6.IsZero() {
			r.LastV6 = max(r.LastV6, since(g.v6))
		}
		if !g.globalValid.IsZero() && !g.globalValid.After(s.end) {
			r.LastAddr = max(r.LastAddr, since(g.globalValid))
		}
		if g.done(s.end) && !g.duplicate && g.wrong == "" {
			r.Configured++
			times = append(times, since(g.configuredAt()))
		}
	}
	slices.Sort(times)
	if len(times) > 0 {
		r.Last, r.P50 = times[len(times)-1], times[len(times)/2]
	}
	return r
}
