package main

import (
	"time"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// A statusReport is what the control socket's /status answers with, as
// JSON: the daemon, every binding file with its state, and the packet
// counters. `nfdhcpd status` prints it.
type statusReport struct {
	Version   string          `json:"version"`
	PID       int             `json:"pid"`
	Started   time.Time       `json:"started"`
	Config    string          `json:"config"`
	Datapath  string          `json:"datapath"`
	Bindings  []bindingReport `json:"bindings"`
	BindingsN map[string]int  `json:"bindings_by_state"`
	Counters  []counterReport `json:"counters"`
	// Routing is absent when the routing module is off.
	Routing *routingReport `json:"routing,omitempty"`
	// Events and DNS are absent when the event command or DNS
	// registration is off (activity.go).
	Events *eventsReport  `json:"events,omitempty"`
	DNS    *dnsreg.Report `json:"dns,omitempty"`
}

// A routingReport is the routing module's state: its role, what its
// reconcile passes did, and how the latest one ended.
type routingReport struct {
	Role       string    `json:"role"`
	Syncs      uint64    `json:"syncs"`
	FullSyncs  uint64    `json:"full_syncs"`
	SyncErrors uint64    `json:"sync_errors"`
	OpsApplied uint64    `json:"ops_applied"`
	OpsFailed  uint64    `json:"ops_failed"`
	LastSync   time.Time `json:"last_sync,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// newRoutingReport reads the routing module's counters and latest pass.
func newRoutingReport(role RoutingRole, stats *routing.Stats) *routingReport {
	c, last := stats.Snapshot(), stats.LastSync()
	return &routingReport{
		Role:  string(role),
		Syncs: c.Syncs, FullSyncs: c.FullSyncs, SyncErrors: c.SyncErrors,
		OpsApplied: c.OpsApplied, OpsFailed: c.OpsFailed,
		LastSync: last.At, LastError: last.Err,
	}
}

// A bindingReport is one binding file in the status.
type bindingReport struct {
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
	// What the VM did and its DNS registration (activity.go).
	Activity *activity.View     `json:"activity,omitempty"`
	DNS      *dnsreg.NameReport `json:"dns,omitempty"`
}

// A counterReport is how many packets of one queue ended one way.
type counterReport struct {
	Queue   string `json:"queue"`
	Outcome string `json:"outcome"`
	Packets uint64 `json:"packets"`
}

// queueKinds and outcomes list every counter, in a stable order.
func queueKinds() []responder.Kind {
	return []responder.Kind{responder.KindDHCPv4, responder.KindRS, responder.KindNS, responder.KindDHCPv6}
}

func outcomes() []responder.Outcome {
	return []responder.Outcome{
		responder.OutcomeAnswered, responder.OutcomeNAK, responder.OutcomeIgnored, responder.OutcomeSpoofed,
		responder.OutcomeMalformed, responder.OutcomeUnknownTAP, responder.OutcomeError, responder.OutcomeRateLimited,
	}
}

// bindingStates lists the states in the order the status shows them.
func bindingStates() []binding.State {
	return []binding.State{binding.StateActive, binding.StatePending, binding.StateInvalid}
}

// newStatusReport gathers the status from the table's status and the
// responder's counters.
func newStatusReport(statuses []binding.Status, stats *responder.Stats) statusReport {
	r := statusReport{
		Bindings:  make([]bindingReport, 0, len(statuses)),
		BindingsN: map[string]int{},
	}
	for _, s := range bindingStates() {
		r.BindingsN[s.String()] = 0
	}
	for _, s := range statuses {
		b := bindingReport{Name: s.Name, State: s.State.String(), Reason: s.Reason, TapIndex: s.TapIndex, File: s.File}
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
	for _, k := range queueKinds() {
		for _, o := range outcomes() {
			r.Counters = append(r.Counters, counterReport{Queue: k.String(), Outcome: o.String(), Packets: stats.Get(k, o)})
		}
	}
	return r
}
