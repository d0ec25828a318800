// Command nfdhcpd answers the DHCPv4, DHCPv6, Router Solicitation and
// Neighbor Solicitation packets that VMs send on their TAP interfaces,
// from per-TAP binding files, as a drop-in replacement for the Python
// nfdhcpd. See the README for the configuration and the packet filter
// rules that divert the packets to it.
package main

import "os"

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}
