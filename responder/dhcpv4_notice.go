package responder

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dhcpv4NoticeEvery is how often at most a log line that a VM can trigger
// at will (a spoofed request, a DECLINE) goes out at its own level.
const dhcpv4NoticeEvery = time.Minute

// dhcpv4Notices rate-limits, per kind, the log lines a VM can trigger at
// will, so that a VM flooding forged requests or DECLINEs cannot flood the
// log: within dhcpv4NoticeEvery of a line, the next ones of its kind go to
// the debug level and are counted in the next line that goes out. The zero
// value is ready.
type dhcpv4Notices struct {
	spoofed, declined dhcpv4Limiter
}

// A dhcpv4Limiter lets one event through per dhcpv4NoticeEvery.
type dhcpv4Limiter struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether an event at now may be logged at its level, and how
// many events were demoted since the last one that was.
func (l *dhcpv4Limiter) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	l.next = now.Add(dhcpv4NoticeEvery)
	return true, suppressed
}

// dhcpv4Notice logs msg at level when l allows it, else at debug level.
func (r *Responder) dhcpv4Notice(l *dhcpv4Limiter, level slog.Level, msg string, args ...any) {
	ok, suppressed := l.allow(time.Now())
	if !ok {
		r.log.Debug(msg, args...)
		return
	}
	if suppressed > 0 {
		args = append(args, "SUPPRESSED", suppressed)
	}
	r.log.Log(context.Background(), level, msg, args...)
}
