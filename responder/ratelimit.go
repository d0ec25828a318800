package responder

import (
	"math"
	"sync"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// A RateLimit bounds how many packets of one TAP the responder handles, all
// queues together, so that a VM flooding its queues costs the daemon little
// more than the verdicts and cannot starve the other TAPs. Packets beyond
// the limit are dropped unanswered (a bound TAP's packets never leave the
// host anyway) and counted with OutcomeRateLimited.
type RateLimit struct {
	// PerSecond is the sustained rate allowed per TAP; 0 or less means no
	// limit.
	PerSecond float64
	// Burst is how many packets a TAP that was quiet may send at once; it
	// is at least 1 when PerSecond is set.
	Burst int
}

// Default rate limits: a booting VM sends a handful of DHCP, RS, NS and
// DHCPv6 packets, and its neighbour unreachability probes a few more per
// minute, far below these.
const (
	DefaultRatePerSecond = 20
	DefaultRateBurst     = 40
)

// rateLogEvery is how often at most the limiter logs about one TAP.
const rateLogEvery = time.Minute

// A tapLimiter keeps one token bucket per bound TAP. Buckets exist only for
// TAPs of the current binding snapshot and are pruned when the snapshot
// changes, so spoofed or unbound input cannot grow it. The zero value is
// ready.
type tapLimiter struct {
	mu      sync.Mutex
	buckets map[int]*tapBucket
	// pruned is the snapshot the buckets were last checked against.
	pruned *binding.Snapshot
}

// A tapBucket is a token bucket in its GCRA form: tat is the theoretical
// arrival time of the next packet, in nanoseconds of the monotonic clock
// reading the limiter was given.
type tapBucket struct {
	tat int64
	// dropped counts packets refused since the last log line; nextLog is
	// when the next line may go out.
	dropped uint64
	nextLog int64
}

// A rateDecision is what the limiter decided for one packet: whether it may
// be handled and, when it may not, whether a log line is due and how many
// packets it covers.
type rateDecision struct {
	allowed bool
	logNow  bool
	dropped uint64
}

// allow decides whether a packet from the TAP with the given index, bound
// in snap, may be handled at now (nanoseconds on a monotonic scale). It does
// not allocate once the TAP has a bucket.
func (l *tapLimiter) allow(snap *binding.Snapshot, ifindex int, lim RateLimit, now int64) rateDecision {
	if lim.PerSecond <= 0 {
		return rateDecision{allowed: true}
	}
	interval := int64(math.Ceil(float64(time.Second) / lim.PerSecond))
	burst := int64(max(lim.Burst, 1))
	// tolerance is how far ahead of now the bucket may run: burst-1
	// intervals let burst packets through at one instant.
	tolerance := interval * (burst - 1)

	l.mu.Lock()
	defer l.mu.Unlock()
	if snap != l.pruned || l.buckets == nil {
		l.prune(snap)
	}
	b := l.buckets[ifindex]
	if b == nil {
		b = &tapBucket{tat: now, nextLog: now}
		l.buckets[ifindex] = b
	}
	tat := max(b.tat, now)
	if tat-now <= tolerance {
		b.tat = tat + interval
		return rateDecision{allowed: true}
	}
	b.dropped++
	if now < b.nextLog {
		return rateDecision{}
	}
	d := rateDecision{logNow: true, dropped: b.dropped}
	b.dropped = 0
	b.nextLog = now + int64(rateLogEvery)
	return d
}

// prune forgets the buckets of TAPs that snap does not bind. It is called
// with l.mu held.
func (l *tapLimiter) prune(snap *binding.Snapshot) {
	if l.buckets == nil {
		l.buckets = make(map[int]*tapBucket, snap.Len())
	}
	for ifindex := range l.buckets {
		if _, ok := snap.ByIndex(ifindex); !ok {
			delete(l.buckets, ifindex)
		}
	}
	l.pruned = snap
}

// logRateLimited writes the limiter's line about a TAP, at most once per
// rateLogEvery; the packets refused in between are counted in the next one
// (and in the ratelimited counter of every queue).
func (r *Responder) logRateLimited(kind Kind, a *binding.Active, lim RateLimit, d rateDecision) {
	if !d.logNow {
		return
	}
	r.log.Warn("rate limit exceeded: dropping this TAP's packets unanswered",
		"TAP", a.Name, "MAC", a.MAC.String(), "QUEUE", kind.String(),
		"RATE", lim.PerSecond, "BURST", max(lim.Burst, 1), "DROPPED", d.dropped)
}

// len returns the number of buckets held.
func (l *tapLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
