// Package bench holds the whole-system performance measurements of the
// daemon: the responder-level Go benchmarks (handler_bench_test.go), the
// load driver that compares the daemon with dnsmasq, Kea and a null
// responder under perfdhcp (cmd/dhcpload, run by `make bench`), the null
// responder itself (cmd/nullresponder) and the scale measurements of
// binding files (cmd/scale).
package bench
