package responder

import "sync/atomic"

// An Outcome is what became of one packet.
type Outcome uint8

const (
	OutcomeAnswered    Outcome = iota // a reply was sent
	OutcomeNAK                        // a DHCPv4 NAK was sent
	OutcomeIgnored                    // bound, but nothing to answer (RELEASE, no IP, DAD probe, foreign target…)
	OutcomeSpoofed                    // source MAC is not the binding's
	OutcomeMalformed                  // the packet could not be decoded
	OutcomeUnknownTAP                 // no binding: accepted untouched
	OutcomeError                      // building or sending the reply failed
	OutcomeRateLimited                // over its TAP's rate limit: dropped unanswered
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"answered", "nak", "ignored", "spoofed", "malformed", "unknown_tap", "error", "ratelimited"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// Stats counts packets by queue kind and outcome, requests and replies by
// message type, and times verdicts (see messages.go). The zero value is
// ready.
type Stats struct {
	n        [numKinds][numOutcomes]atomic.Uint64
	requests messageCounts
	replies  messageCounts
	latency  [numKinds]latencyHistogram
}

func (s *Stats) count(k Kind, o Outcome) {
	if k < numKinds && o < numOutcomes {
		s.n[k][o].Add(1)
	}
}

// Get returns how many packets of kind k ended with outcome o.
func (s *Stats) Get(k Kind, o Outcome) uint64 {
	if k < numKinds && o < numOutcomes {
		return s.n[k][o].Load()
	}
	return 0
}
