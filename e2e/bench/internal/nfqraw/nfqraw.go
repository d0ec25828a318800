// Package nfqraw reads an NFQUEUE queue through a bare netlink socket:
// one blocking read per batch of queued packets on the calling thread, and
// verdicts written several to a send. It is the measuring stick of the
// benchmarks (the cheapest way userspace can take packets off a queue),
// not a part of the daemon.
package nfqraw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Netlink and nfnetlink_queue constants (linux/netfilter/nfnetlink_queue.h)
// that x/sys/unix does not all name.
const (
	subsysQueue      = 3
	msgPacket        = 0
	msgVerdict       = 1
	msgConfig        = 2
	msgVerdictBatch  = 3
	attrCfgCmd       = 1
	attrCfgParams    = 2
	attrCfgMaxLen    = 3
	attrCfgMask      = 4
	attrCfgFlags     = 5
	cmdBind          = 1
	cmdPfBind        = 3
	cmdPfUnbind      = 4
	copyPacket       = 2
	flagFailOpen     = 1
	attrPacketHdr    = 1
	attrVerdictHdr   = 2
	attrInDev        = 5
	attrPhysInDev    = 7
	attrHwAddr       = 9
	attrPayload      = 10
	nlmsgHdrLen      = 16
	nfgenHdrLen      = 4
	recvPollInterval = 100 * time.Millisecond
)

// Verdicts.
const (
	Drop   = 0
	Accept = 1
)

// A Packet is one queued packet. Its slices point into the buffer given to
// Receive and are valid until the next Receive.
type Packet struct {
	ID               uint32
	InDev, PhysInDev uint32 // 0 when the kernel sent none
	HwAddr           []byte // nil when the kernel sent none
	Payload          []byte
}

// A Conn is a bound queue.
type Conn struct {
	fd    int
	queue uint16
}

// Open binds queue num as the daemon opens its queues: whole packets,
// fail-open, maxLen packets held, no ENOBUFS. Reads time out every 100 ms
// so that callers can notice they should stop.
func Open(num uint16, maxLen uint32) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("nfqraw: netlink socket: %w", err)
	}
	c := &Conn{fd: fd, queue: num}
	if err := c.setup(maxLen); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

func (c *Conn) setup(maxLen uint32) error {
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("nfqraw: bind netlink: %w", err)
	}
	if err := unix.SetsockoptInt(c.fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1); err != nil {
		return fmt.Errorf("nfqraw: NETLINK_NO_ENOBUFS: %w", err)
	}
	tv := unix.NsecToTimeval(int64(recvPollInterval))
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("nfqraw: SO_RCVTIMEO: %w", err)
	}
	steps := []struct {
		queue    uint16
		attrs    []byte
		mayFail  bool
		whatStep string
	}{
		{0, Attr(attrCfgCmd, []byte{cmdPfUnbind, 0, 0, unix.AF_INET}), true, "unbind family"},
		{0, Attr(attrCfgCmd, []byte{cmdPfBind, 0, 0, unix.AF_INET}), false, "bind family"},
		{c.queue, Attr(attrCfgCmd, []byte{cmdBind, 0, 0, unix.AF_UNSPEC}), false, "bind queue"},
		{c.queue, Attr(attrCfgParams, binary.BigEndian.AppendUint32(nil, 0xffff), []byte{copyPacket}), false, "copy mode"},
		{c.queue, append(append(
			Attr(attrCfgFlags, binary.BigEndian.AppendUint32(nil, flagFailOpen)),
			Attr(attrCfgMask, binary.BigEndian.AppendUint32(nil, flagFailOpen))...),
			Attr(attrCfgMaxLen, binary.BigEndian.AppendUint32(nil, maxLen))...), false, "flags and length"},
	}
	for i, s := range steps {
		msg := AppendMessage(nil, msgConfig, unix.NLM_F_REQUEST|unix.NLM_F_ACK, uint32(i+1), s.queue, s.attrs)
		if err := c.Send(msg); err != nil {
			return fmt.Errorf("nfqraw: queue %d: %s: %w", c.queue, s.whatStep, err)
		}
		if err := c.readAck(); err != nil && !s.mayFail {
			return fmt.Errorf("nfqraw: queue %d: %s: %w", c.queue, s.whatStep, err)
		}
	}
	return nil
}

// Close closes the socket, which unbinds the queue.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// ErrTimeout is returned by Receive when nothing arrived for a while.
var ErrTimeout = errors.New("nfqraw: no packet")

// Receive blocks for the next batch of queued packets (one read returns as
// many as fit buf) and calls fn for each, in queue order.
func (c *Conn) Receive(buf []byte, fn func(*Packet)) error {
	n, _, err := unix.Recvfrom(c.fd, buf, 0)
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
			return ErrTimeout
		}
		return fmt.Errorf("nfqraw: read queue %d: %w", c.queue, err)
	}
	var p Packet
	for b := buf[:n]; len(b) >= nlmsgHdrLen; {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l < nlmsgHdrLen || l > len(b) {
			break
		}
		if binary.NativeEndian.Uint16(b[4:6]) == subsysQueue<<8|msgPacket && l >= nlmsgHdrLen+nfgenHdrLen {
			if ParsePacket(b[nlmsgHdrLen+nfgenHdrLen:l], &p) {
				fn(&p)
			}
		}
		b = b[min(align4(l), len(b)):]
	}
	return nil
}

// ParsePacket fills p from a packet message's attributes and reports
// whether it held a packet header.
func ParsePacket(attrs []byte, p *Packet) bool {
	*p = Packet{}
	found := false
	for len(attrs) >= 4 {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4]) &^ unix.NLA_F_NESTED
		if l < 4 || l > len(attrs) {
			return false
		}
		v := attrs[4:l]
		switch {
		case typ == attrPacketHdr && len(v) >= 4:
			p.ID, found = binary.BigEndian.Uint32(v), true
		case typ == attrInDev && len(v) >= 4:
			p.InDev = binary.BigEndian.Uint32(v)
		case typ == attrPhysInDev && len(v) >= 4:
			p.PhysInDev = binary.BigEndian.Uint32(v)
		case typ == attrHwAddr && len(v) >= 4:
			if n := int(binary.BigEndian.Uint16(v)); n > 0 && 4+n <= len(v) {
				p.HwAddr = v[4 : 4+n]
			}
		case typ == attrPayload:
			p.Payload = v
		}
		attrs = attrs[min(align4(l), len(attrs)):]
	}
	return found
}

// AppendVerdict appends the verdict message of one packet to b, so that
// the verdicts of a batch go out in one Send.
func (c *Conn) AppendVerdict(b []byte, id uint32, verdict uint32) []byte {
	return AppendMessage(b, msgVerdict, unix.NLM_F_REQUEST, 0, c.queue, verdictAttr(id, verdict))
}

// AppendBatchVerdict appends one verdict for every packet up to id.
func (c *Conn) AppendBatchVerdict(b []byte, id uint32, verdict uint32) []byte {
	return AppendMessage(b, msgVerdictBatch, unix.NLM_F_REQUEST, 0, c.queue, verdictAttr(id, verdict))
}

func verdictAttr(id, verdict uint32) []byte {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[0:4], verdict)
	binary.BigEndian.PutUint32(hdr[4:8], id)
	return Attr(attrVerdictHdr, hdr[:])
}

// Send writes netlink messages to the kernel.
func (c *Conn) Send(b []byte) error {
	return unix.Sendto(c.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

func (c *Conn) readAck() error {
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(c.fd, buf, 0)
	if err != nil {
		return err
	}
	if n < nlmsgHdrLen+4 || binary.NativeEndian.Uint16(buf[4:6]) != unix.NLMSG_ERROR {
		return nil
	}
	if code := int32(binary.NativeEndian.Uint32(buf[nlmsgHdrLen:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// Attr encodes one netlink attribute holding the concatenated parts,
// padded to 4 bytes.
func Attr(typ uint16, parts ...[]byte) []byte {
	size := 4
	for _, p := range parts {
		size += len(p)
	}
	b := binary.NativeEndian.AppendUint16(make([]byte, 0, align4(size)), uint16(size))
	b = binary.NativeEndian.AppendUint16(b, typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// AppendMessage appends an nfnetlink_queue message: netlink header,
// nfgenmsg (family unspecified, version 0, queue number big-endian), then
// the attributes.
func AppendMessage(b []byte, msgType uint8, flags uint16, seq uint32, queue uint16, attrs []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHdrLen+nfgenHdrLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, uint16(subsysQueue)<<8|uint16(msgType))
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0)
	b = binary.BigEndian.AppendUint16(b, queue)
	return append(b, attrs...)
}
