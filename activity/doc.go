// Package activity owns what the VMs did: a bounded record per binding of
// their latest DHCPv4, DHCPv6 and neighbor discovery requests, the leases
// and delegated prefixes they took and the IPv6 addresses they use, the
// INFO log lines of lease events, and the events themselves (binding
// added, changed, removed, active, pending; lease, release, decline, nak,
// lease6, prefix6, address6) for the consumers that run off the packet
// path: the event command (package activity/hook) and DNS registration
// (package activity/dnsreg).
//
// The responder updates a Record on every request without allocating;
// everything that allocates (events, log lines, views) happens only when
// something changed.
package activity
