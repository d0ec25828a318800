// Package e2e runs the real nfdhcpd binary inside throw-away network
// namespaces against real DHCP and IPv6 clients.
//
// A "hypervisor" namespace holds the daemon, its NFQUEUE rules and the host
// end of a veth pair named like a TAP (tap0, tap1, ...); each "VM" namespace
// holds the other end as eth0. A real TAP device cannot carry frames into
// another namespace without a process pumping its file descriptor, while a
// veth end behaves the same as a TAP for everything the daemon does (it has an
// ifindex, a MAC, receives the VM's frames as input and transmits what is
// written to it), so the veth end stands in for the TAP. TestRealVM
// (realvm_test.go, with the guest builder in e2e/vm) checks the rest with
// real QEMU guests on TAPs that QEMU creates and the shipped hooks bind.
//
// The tests need root and the client commands. Without them they skip, except
// when CI=true, where a missing prerequisite is a failure.
package e2e
