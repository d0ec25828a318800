package inject

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// A BOOTP is a DHCPv4 message laid out field by field, so that any field can
// be wrong: HLen need not match CHAddr, Options are raw bytes after the magic
// cookie (no End is added), and SName and File may carry overloaded options.
type BOOTP struct {
	Op, HType, HLen byte
	Xid             uint32
	Flags           uint16
	CIAddr          netip.Addr // zero: 0.0.0.0
	CHAddr          net.HardwareAddr
	SName           []byte // at most 64 bytes
	File            []byte // at most 128 bytes
	NoCookie        bool
	Options         []byte
}

// Bytes returns the message: the 236-byte fixed part, the magic cookie and
// the options.
func (b BOOTP) Bytes() []byte {
	m := make([]byte, 236, 240+len(b.Options))
	m[0], m[1], m[2] = b.Op, b.HType, b.HLen
	binary.BigEndian.PutUint32(m[4:8], b.Xid)
	binary.BigEndian.PutUint16(m[10:12], b.Flags)
	if b.CIAddr.Is4() {
		a := b.CIAddr.As4()
		copy(m[12:16], a[:])
	}
	copy(m[28:44], b.CHAddr)
	copy(m[44:108], b.SName)
	copy(m[108:236], b.File)
	if !b.NoCookie {
		m = append(m, 99, 130, 83, 99)
	}
	return append(m, b.Options...)
}

// Request returns a well-formed BOOTREQUEST from mac with transaction id xid
// and the given options, which the caller ends with End.
func Request(mac net.HardwareAddr, xid uint32, options ...[]byte) BOOTP {
	b := BOOTP{Op: 1, HType: 1, HLen: 6, Xid: xid, Flags: 0x8000, CHAddr: mac}
	for _, o := range options {
		b.Options = append(b.Options, o...)
	}
	return b
}

// Opt returns a DHCPv4 option with the true length of data.
func Opt(code byte, data ...byte) []byte {
	return append([]byte{code, byte(len(data))}, data...)
}

// OptLen returns a DHCPv4 option whose length field says n, whatever the
// data.
func OptLen(code, n byte, data ...byte) []byte {
	return append([]byte{code, n}, data...)
}

// End is the DHCPv4 end option.
var End = []byte{255}

// DHCPv4 message types.
const (
	DiscoverType byte = 1
	RequestType  byte = 3
)

// DHCPv6 returns a DHCPv6 client message: type, transaction id and raw
// options.
func DHCPv6(msgType byte, xid uint32, options ...[]byte) []byte {
	m := []byte{msgType, byte(xid >> 16), byte(xid >> 8), byte(xid)}
	for _, o := range options {
		m = append(m, o...)
	}
	return m
}

// Opt6 returns a DHCPv6 option with the true length of data.
func Opt6(code uint16, data ...byte) []byte {
	return Opt6Len(code, uint16(len(data)), data...)
}

// Opt6Len returns a DHCPv6 option whose length field says n, whatever the
// data.
func Opt6Len(code, n uint16, data ...byte) []byte {
	o := binary.BigEndian.AppendUint16(nil, code)
	o = binary.BigEndian.AppendUint16(o, n)
	return append(o, data...)
}

// DUIDLL returns a DUID-LL (type 3) for mac.
func DUIDLL(mac net.HardwareAddr) []byte {
	return append([]byte{0, 3, 0, 1}, mac...)
}

// NDOpt returns a Neighbor Discovery option whose length field (in units of
// 8 bytes) says units, whatever the data.
func NDOpt(typ, units byte, data ...byte) []byte {
	return append([]byte{typ, units}, data...)
}

// SourceLL returns a well-formed source link-layer address option.
func SourceLL(mac net.HardwareAddr) []byte {
	return NDOpt(1, 1, mac...)
}

// RSBody returns the body of a Router Solicitation after the ICMPv6 header:
// the reserved word and the options.
func RSBody(options ...[]byte) []byte {
	b := make([]byte, 4)
	for _, o := range options {
		b = append(b, o...)
	}
	return b
}

// NSBody returns the body of a Neighbor Solicitation after the ICMPv6
// header: the reserved word, the target and the options.
func NSBody(target netip.Addr, options ...[]byte) []byte {
	t := target.As16()
	b := append(make([]byte, 4), t[:]...)
	for _, o := range options {
		b = append(b, o...)
	}
	return b
}
