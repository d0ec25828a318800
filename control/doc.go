// Package control owns how operators watch a running nfdhcpd: the control
// socket (a unix socket, owner and root only) and its client, the status
// report it answers with and `nfdhcpd status` prints, and the Prometheus
// metrics served on it and, optionally, on a TCP address.
//
// It reads the other packages' exported counters at request time only; the
// packet path never calls into it.
package control
