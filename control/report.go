package control

import (
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// A Report is what the control socket's /status answers with, as
// JSON: the daemon, every binding file with its state, and the packet
// counters. `nfdhcpd status` prints it.
type Report struct {
	Version   string          `json:"version"`
	PID       int             `json:"pid"`
	Started   time.Time       `json:"started"`
	Config    string          `json:"config"`
	Datapath  string          `json:"datapath"`
	Bindings  []BindingReport `json:"bindings"`
	BindingsN map[string]int  `json:"bindings_by_state"`
	Counters  []CounterReport `json:"counters"`
	// Routing is absent when the routing module is off.
	Routing *RoutingReport `json:"routing,omitempty"`
}

// A RoutingReport is the routing module's state: its role, what its
// reconcile passes did, and how the latest one ended.
type RoutingReport struct {
	Role       string    `json:"role"`
	Syncs      uint64    `json:"syncs"`
	FullSyncs  uint64    `json:"full_syncs"`
	SyncErrors uint64    `json:"sync_errors"`
	OpsApplied uint64    `json:"ops_applied"`
	OpsFailed  uint64    `json:"ops_failed"`
	LastSync   time.Time `json:"last_sync,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// NewRoutingReport reads the routing module's counters and latest pass.
func NewRoutingReport(role string, stats *routing.Stats) *RoutingReport {
	c, last := stats.Snapshot(), stats.LastSync()
	return &RoutingReport{
		Role:  role,
		Syncs: c.Syncs, FullSyncs: c.FullSyncs, SyncErrors: c.SyncErrors,
		OpsApplied: c.OpsApplied, OpsFailed: c.OpsFailed,
		LastSync: last.At, LastError: last.Err,
	}
}

// A BindingReport is one binding file in the status.
type BindingReport struct {
	Name     string `json:"name"`
	State    string `json:"state"` // active, pending, invalid
	Reason   string `json:"reason,omitempty"`
	TapIndex int    `json:"tap_index,omitempty"`
	Indev    string `json:"indev,omitempty"`
	MAC      string `json:"mac,omitempty"`
	IP       string `json:"ip,omitempty"`
	IP6      string `json:"ip6,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	File     string `json:"file"`
}

// A CounterReport is how many packets of one queue ended one way.
type CounterReport struct {
	Queue   string `json:"queue"`
	Outcome string `json:"outcome"`
	Packets uint64 `json:"packets"`
}

// QueueKinds and Outcomes list every counter, in a stable order.
func QueueKinds() []responder.Kind {
	return []responder.Kind{responder.KindDHCPv4, responder.KindRS, responder.KindNS, responder.KindDHCPv6}
}

func Outcomes() []responder.Outcome {
	return []responder.Outcome{
		responder.OutcomeAnswered, responder.OutcomeNAK, responder.OutcomeIgnored, responder.OutcomeSpoofed,
		responder.OutcomeMalformed, responder.OutcomeUnknownTAP, responder.OutcomeError, responder.OutcomeRateLimited,
	}
}

// BindingStates lists the states in the order the status shows them.
func BindingStates() []binding.State {
	return []binding.State{binding.StateActive, binding.StatePending, binding.StateInvalid}
}

// NewReport gathers the status from the table's status and the
// responder's counters; the caller fills in the daemon's own fields.
func NewReport(statuses []binding.Status, stats *responder.Stats) Report {
	r := Report{
		Bindings:  make([]BindingReport, 0, len(statuses)),
		BindingsN: map[string]int{},
	}
	for _, s := range BindingStates() {
		r.BindingsN[s.String()] = 0
	}
	for _, s := range statuses {
		b := BindingReport{Name: s.Name, State: s.State.String(), Reason: s.Reason, TapIndex: s.TapIndex, File: s.File}
		if s.Binding != nil {
			b.Indev = s.Binding.Indev
			b.MAC = s.Binding.MAC.String()
			if s.Binding.IP.IsValid() {
				b.IP = s.Binding.IP.String()
			}
			if s.Binding.EUI64.IsValid() {
				b.IP6 = s.Binding.EUI64.String()
			}
			b.Hostname = s.Binding.Hostname
		}
		r.Bindings = append(r.Bindings, b)
		r.BindingsN[b.State]++
	}
	for _, k := range QueueKinds() {
		for _, o := range Outcomes() {
			r.Counters = append(r.Counters, CounterReport{Queue: k.String(), Outcome: o.String(), Packets: stats.Get(k, o)})
		}
	}
	return r
}
