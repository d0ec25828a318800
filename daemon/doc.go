// Package daemon runs nfdhcpd: it takes what is exclusive (the pid file,
// the control socket, the metrics port, the queues) before it touches
// kernel state, loads the binding table, serves the queues through the
// responder, runs the periodic RAs and the routing module, and applies
// SIGHUP (reload) and SIGUSR1 (dump to the log) until its context ends.
//
// It is the wiring of the library packages; the command line stays in
// cmd/nfdhcpd.
package daemon
