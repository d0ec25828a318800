// Package packets holds the pure functions of the wire: decoding the requests
// NFQUEUE hands over (DHCPv4, DHCPv6, Router and Neighbor Solicitations) and
// building the complete reply frames (Ethernet + IP + UDP/ICMPv6) that the
// responder writes onto a TAP.
//
// Nothing here does I/O, reads a clock or keeps global state: everything a
// reply depends on is passed in.
package packets
