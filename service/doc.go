// Package service owns the daemon's life as a system service: the pid file
// that keeps a second daemon out, the switch to an unprivileged user that
// keeps only the capabilities the daemon needs, the readiness, reload and
// watchdog notifications to systemd (Type=notify), and the logger that
// writes structured records to the journal when stderr is connected to it.
//
// None of it knows about packets, bindings or routing.
package service
