// Package bench holds the whole-system performance measurements of the
// daemon: the responder-level Go benchmarks (handler_bench_test.go), the
// load driver that compares the daemon with dnsmasq, Kea and a null
// responder under its own packet generator or perfdhcp (cmd/dhcpload, run
// by `make bench`), the null responder itself (cmd/nullresponder), the
// boot storm of 241 VMs against nfdhcpd and dnsmasq + radvd
// (cmd/bootstorm) and the scale measurements of binding files
// (cmd/scale). The package itself holds what the load drivers share: the
// servers they run in a namespace (Process).
package bench
