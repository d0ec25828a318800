package config

import (
	"math"
	"strconv"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// RateLimit is the per-TAP rate limit of [general]: rate_limit
// packets per second sustained, rate_burst at once, all queues together.
type RateLimit struct {
	PerSecond float64 // 0: no limit
	Burst     int
}

// maxRateBurst keeps rate_burst a plausible number of packets.
const maxRateBurst = 1 << 20

// parseRateLimit reads rate_limit and rate_burst.
func (g *General) parseRateLimit(r *sectionReader) error {
	g.RateLimit = RateLimit{PerSecond: responder.DefaultRatePerSecond, Burst: responder.DefaultRateBurst}
	if v, ok := r.raw("rate_limit"); ok && v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
			return r.errorf("rate_limit", "%q is not a number of packets per second (0 turns the limit off)", v)
		}
		g.RateLimit.PerSecond = n
	}
	burst, err := r.uint("rate_burst", responder.DefaultRateBurst, maxRateBurst)
	if err != nil {
		return err
	}
	if burst == 0 {
		return r.errorf("rate_burst", "must be at least 1")
	}
	g.RateLimit.Burst = int(burst)
	return nil
}

// options maps the configuration to the responder's.
func (c RateLimit) options() responder.RateLimit {
	return responder.RateLimit{PerSecond: c.PerSecond, Burst: c.Burst}
}
