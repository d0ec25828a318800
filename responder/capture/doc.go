// Package capture writes the packet filter rules that divert the VMs'
// requests into the responder's queues: iptables and ip6tables rules in
// iptables-restore format (routed and bridged TAPs) and an nft script
// (routed TAPs). `nfdhcpd rules` prints them for the configured queues,
// and contrib/ ships them for the default ones.
package capture
