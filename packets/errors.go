package packets

import "errors"

// The sentinels below classify why a packet was refused. Callers test them
// with errors.Is; every error returned by this package wraps one of them,
// prefixed with "packets:" and the value that failed.
var (
	// errMalformed means the bytes are not a well-formed packet of the
	// expected kind: truncated, inconsistent lengths, bad field values.
	errMalformed = errors.New("malformed packet")

	// errUnsupported means the packet is well formed but uses something this
	// package deliberately does not handle (fragments, IP options we refuse,
	// hardware types other than Ethernet, ...).
	errUnsupported = errors.New("unsupported packet")

	// errInvalidParams means the caller asked to build a reply from
	// parameters that cannot produce a valid packet (no server address,
	// address of the wrong family, ...).
	errInvalidParams = errors.New("invalid reply parameters")
)

// IsMalformed reports whether err says a packet was malformed.
func IsMalformed(err error) bool { return errors.Is(err, errMalformed) }

// IsUnsupported reports whether err says a packet was well formed but of a
// kind this package does not handle.
func IsUnsupported(err error) bool { return errors.Is(err, errUnsupported) }
