// Package routing owns the host-side kernel state of the routed setup: the
// policy rules, routes, proxy neighbours, addresses, sysctls and the
// daemon's own nftables tables that let VMs on TAP interfaces reach the
// rest of the network through a shared uplink, and the gratuitous ARP and
// unsolicited NA frames that announce a VM that has just appeared. With
// AnnounceBGP nothing is proxied on the uplink: the per-VM host routes are
// left for a routing daemon (BIRD, contrib/bird/) to announce.
//
// The package computes a desired State from the node's Config and the
// active bindings (Desired), compares it with what the kernel holds (Diff)
// and applies the difference through the narrow Kernel interface. Netlink
// is the real Kernel; tests use a fake that records what it was asked to do.
//
// The daemon marks everything it installs so that it can tell its own state
// from the operator's: routes, proxy neighbours and addresses carry the
// protocol number Protocol, policy rules carry it too and live in the
// priority range [RulePriorityMin, RulePriorityMax], and the nftables rules
// live in tables named TableName. Only entries carrying those marks are ever
// deleted.
package routing
