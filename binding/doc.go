// Package binding owns the per-TAP binding files of the control plane: the
// Binding type, parsing and validation of the shell-style KEY=VALUE files that
// hypervisor hooks drop into the data directory, the watched Table that turns
// the directory and the host's links into immutable snapshots, and atomic
// writing of binding files for hooks.
//
// Package binding knows nothing of packets or queues.
package binding
