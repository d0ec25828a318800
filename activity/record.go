package activity

import (
	"net/netip"
	"sync"
	"time"
)

// Bounds of a Record: it is a fixed-size value, so that updating it on a
// packet never allocates and a VM cannot grow the daemon's memory.
const (
	// MaxText is how many bytes of a text option (host name, vendor and
	// user class, client identifier, parameter list) are kept.
	MaxText = 64
	// MaxDUID is the longest DUID RFC 8415 §11.1 allows.
	MaxDUID = 130
	// MaxSeen6 is how many IPv6 addresses in use are kept per TAP; a new
	// one replaces the one seen least recently.
	MaxSeen6 = 16
	// maxLeased6 is how many DHCPv6 addresses handed out are kept.
	maxLeased6 = 4
	// MaxDelegated6 is how many delegated prefixes handed out are kept;
	// the oldest goes first.
	MaxDelegated6 = 8
)

// Numbers of the request kinds whose latest time a Record keeps: every
// DHCPv4 message type (1..18), every DHCPv6 client message type (1..13
// fits in 16), RS and NS.
const (
	numV4Types = 19
	numV6Types = 16
)

// A text is a bounded copy of an option's bytes.
type text struct {
	n uint8
	b [MaxText]byte
}

func (t *text) set(p []byte) { t.n = uint8(copy(t.b[:], p)) }

func (t *text) get() []byte { return t.b[:t.n] }

// A seen6 is one IPv6 address the VM was seen using.
type seen6 struct {
	addr        netip.Addr
	how         SeenHow
	first, last int64 // Unix nanoseconds
}

// A SeenHow says how an address in use was learned.
type SeenHow uint8

const (
	SeenDAD SeenHow = iota + 1 // the VM probed it with Duplicate Address Detection
	SeenNS                     // the VM sent a neighbor solicitation from it
)

func (h SeenHow) String() string {
	switch h {
	case SeenDAD:
		return "dad"
	case SeenNS:
		return "ns"
	}
	return "unknown"
}

// A Record is what one binding's VM did, updated from the packet path
// under its own lock. All times are Unix nanoseconds, 0 for never.
type Record struct {
	mu sync.Mutex

	v4Last     [numV4Types]int64
	v6Last     [numV6Types]int64
	rsLast     int64
	nsLast     int64
	lastV4Type uint8
	lastV6Type uint8

	// The latest DHCPv4 ACK carrying an address.
	ackIP       netip.Addr
	ackAt       int64
	leaseEnd    int64
	configured  bool // the lease event of this binding went out
	hostName    text
	vendorClass text
	userClass   text
	clientID    text
	paramList   text

	duid     [MaxDUID]byte
	duidLen  uint8
	leased6  [maxLeased6]netip.Addr
	leased6N int
	leased6T int64
	deleg6   [MaxDelegated6]netip.Prefix
	deleg6N  int
	deleg6T  int64

	seen  [MaxSeen6]seen6
	nseen int

	lines lineLimiter
}

// A lineLimiter lets a TAP's VM-triggered log lines out at their level at
// lineRate per second with bursts of lineBurst; the others go to debug and
// are counted in the next one that goes out.
type lineLimiter struct {
	tokens     float64
	at         int64
	suppressed int
}

const (
	lineBurst = 10
	lineEvery = 6 * time.Second
)

// allow reports whether a line at now may go out at its level, and how
// many were demoted since the last that did.
func (l *lineLimiter) allow(now int64) (bool, int) {
	if l.at == 0 {
		l.tokens = lineBurst
	} else {
		l.tokens = min(lineBurst, l.tokens+float64(now-l.at)/float64(lineEvery))
	}
	l.at = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return true, n
}

// seeAddr records addr as used at now. It reports whether the address is
// new to the record.
func (r *Record) seeAddr(addr netip.Addr, how SeenHow, now int64) bool {
	for i := range r.nseen {
		if r.seen[i].addr == addr {
			r.seen[i].last = now
			if how == SeenDAD {
				r.seen[i].how = how
			}
			return false
		}
	}
	i := r.nseen
	if i == MaxSeen6 {
		i = 0
		for j := 1; j < MaxSeen6; j++ {
			if r.seen[j].last < r.seen[i].last {
				i = j
			}
		}
	} else {
		r.nseen++
	}
	r.seen[i] = seen6{addr: addr, how: how, first: now, last: now}
	return true
}

// addLeased6 records addr as handed out; it reports whether it is new.
func (r *Record) addLeased6(addr netip.Addr, now int64) bool {
	r.leased6T = now
	for i := range r.leased6N {
		if r.leased6[i] == addr {
			return false
		}
	}
	if r.leased6N == maxLeased6 {
		copy(r.leased6[:], r.leased6[1:])
		r.leased6N--
	}
	r.leased6[r.leased6N] = addr
	r.leased6N++
	return true
}

// addDelegated6 records p as delegated; it reports whether it is new.
func (r *Record) addDelegated6(p netip.Prefix, now int64) bool {
	r.deleg6T = now
	for i := range r.deleg6N {
		if r.deleg6[i] == p {
			return false
		}
	}
	if r.deleg6N == MaxDelegated6 {
		copy(r.deleg6[:], r.deleg6[1:])
		r.deleg6N--
	}
	r.deleg6[r.deleg6N] = p
	r.deleg6N++
	return true
}
