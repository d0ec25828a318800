// Package responder owns the NFQUEUE side of the daemon: one loop per queue
// that takes a packet, matches it to its binding, applies the policy (unknown
// TAP, spoofed MAC, DAD probes, …), asks package packets for the reply frame,
// sends it, and sets exactly one verdict. It also sends the periodic Router
// Advertisements.
//
// The kernel is reached through two small interfaces, Source and Sender, so
// that the policy is unit-tested with fakes and e2e-tested with the real
// queues.
package responder
