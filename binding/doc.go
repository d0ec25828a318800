// Package binding owns the per-TAP binding files of the control plane: the
// Binding type, parsing and validation of the shell-style KEY=VALUE files that
// hypervisor hooks drop into the data directory, the watched Table that turns
// the directory and the host's links into immutable snapshots, and atomic
// writing of binding files for hooks.
//
// Package binding knows nothing of packets or queues.
//
// # File format
//
// A binding file is named after the TAP interface and holds KEY=VALUE lines
// as a shell would read them: blank lines and lines starting with '#' are
// skipped, an "export " prefix is tolerated, values may be single-quoted
// (literal) or double-quoted (with the escapes \" \\ \$ and \`), and an
// unquoted '#' after whitespace starts a comment. Unlike a shell, nothing is
// expanded and spaces inside an unquoted value are kept, as the original
// daemon did. An empty value means unset (for a profile key: unset the
// configuration's default too); when a key appears twice the last
// line wins; unknown keys are ignored. Files over 64 KiB, lines over 4096
// bytes and NUL bytes are refused.
//
// Every understood value is validated, and MAC is required:
//
//   - INDEV, UPLINK, UPLINK6 and the file name: interface names (ValidName).
//   - MAC: a 48-bit unicast MAC, not all zero.
//   - IP, GATEWAY: IPv4 addresses; IP must lie inside SUBNET when both are
//     given (a binding that contradicts itself is refused rather than
//     guessed at).
//   - SUBNET, SUBNET6: an IPv4 network and an IPv6 prefix in CIDR notation,
//     stored masked. Without EUI64, SUBNET6 must be /64 or shorter, since the
//     address is then derived from MAC (modified EUI-64).
//   - GATEWAY6, EUI64: IPv6 addresses; EUI64 must lie inside SUBNET6.
//   - MTU: 1280..65535 when SUBNET6 is set (the IPv6 minimum link MTU), else
//     576..65535.
//   - PRIVATE, MACSPOOF: set by any non-empty value except 0, no, false and
//     off (any letter case). The original daemon took every non-empty value
//     as set; those four spellings can only mean the opposite.
//   - HOSTNAME: at most 253 printable ASCII characters, no spaces.
//   - TAGS: UTF-8 text without control characters other than tab.
//   - TABLE: a routing table number 1..4294967295 or an rt_tables name of
//     letters, digits, '_', '.' and '-'.
//
// The profile keys (NAMESERVERS, NAMESERVERS6, DOMAIN, SEARCH, NTP, NTP6,
// ROUTES, LEASE_TIME, RENEWAL_TIME, IPV6_MODE, NEXT_SERVER, TFTP_SERVER,
// BOOTFILE, BOOTFILE_EFI, BOOTFILE_IPXE, BOOTFILE_URL6, IPV6_ONLY,
// DHCP_OPTIONS) are validated by package profile and kept in
// Binding.Profile. Unlike the other keys, an empty profile value is kept:
// it unsets the configuration's default for this NIC (docs/bindings.md).
//
// Errors name the file and line, as in
// `binding: tap0:3: MAC "zz": invalid (want a 48-bit MAC such as 52:54:00:12:34:56)`.
//
// # The watched table
//
// A Table watches the directory itself. A file renamed into place (as the
// hooks and WriteFile do) is complete and read at once; a file written in
// place is read once it has been quiet for 15 ms, or 500 ms after its first
// change if it is rewritten without pause. A change is published by
// patching a copy of the current snapshot, not by rebuilding it.
// Temporary and backup names are skipped (see Ignored). A file that turns
// invalid keeps its last good binding, with a warning; a file invalid from
// the start is listed as invalid; a removed file removes its binding. A
// binding becomes active when both its TAP and its INDEV exist, and follows
// a TAP recreated under a new index. Lost directory events trigger a full
// rescan; a lost link subscription is renewed with a full link list. When
// the directory itself disappears, the bindings known are kept and the
// watch is retried every 200 ms; when it returns it is read whole.
package binding
