// Package profile is the network profile of one VM NIC: what it is told
// beyond its address and router — DNS servers, domain and search list, NTP
// servers, classless routes, lease times, its IPv6 mode, netboot parameters,
// the IPv6-only preference and raw DHCPv4 options.
//
// A binding file spells each setting as a KEY=VALUE line and the
// configuration file gives the host-wide default of the same setting in
// lower case; both are read by Profile.Set, so the two cannot disagree on
// the grammar. A setting has three states: absent (the default applies),
// empty (explicitly unset, overriding the default) and a value. Over merges
// a binding's profile over the defaults without allocating, for the reply
// path.
//
// Values that are costly to encode on every packet (the RFC 1035 compressed
// search list, raw options) are encoded once, when they are parsed.
package profile
