package responder

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The queue's receive path, written by hand: go-nfqueue's own peeks at
// every datagram before reading it, allocates about forty times per packet
// and wakes the netpoller once per packet. Here one recvmmsg takes up to
// readBatch datagrams into buffers allocated once, and the attributes are
// read in place, so a packet costs no allocation and a burst one system
// call.

// Netlink and nfnetlink_queue numbers (linux/netfilter/nfnetlink_queue.h)
// that x/sys/unix does not name.
const (
	nfnlSubsysQueue   = 3
	nfqMsgPacket      = 0
	nfqMsgConfig      = 2
	nfqAttrPacketHdr  = 1
	nfqAttrInDev      = 5
	nfqAttrPhysInDev  = 7
	nfqAttrHwAddr     = 9
	nfqAttrPayload    = 10
	nfqAttrCfgCmd     = 1
	nfqAttrCfgParams  = 2
	nfqAttrCfgMaxLen  = 3
	nfqAttrCfgMask    = 4
	nfqAttrCfgFlags   = 5
	nfqCmdBind        = 1
	nfqCmdUnbind      = 2
	nfqCmdPfBind      = 3
	nfqCmdPfUnbind    = 4
	nlmsgHeaderLen    = 16
	nfgenHeaderLen    = 4
	nfqPacketMsgType  = nfnlSubsysQueue<<8 | nfqMsgPacket
	nfqAttrHeaderSize = 4
)

const (
	// readBatch is how many datagrams one recvmmsg takes at most: a
	// burst of this many packets costs one system call and one wake-up.
	readBatch = 64
	// readBufSize holds one queued packet of a 9000-byte jumbo frame with
	// its attributes. The kernel segments GSO packets for the queue (no
	// NfQaCfgFlagGSO), so a datagram never carries more than an MTU of
	// payload; a larger one arrives truncated and is accepted unread.
	readBufSize = 16 << 10
)

// A batchReader reads datagrams from a queue's socket into buffers it
// owns, and walks the packets they hold. The slices of a packet it
// returns point into those buffers and stay valid until the next read.
type batchReader struct {
	rc   syscall.RawConn
	buf  []byte // readBatch buffers of readBufSize, back to back
	iovs [readBatch]unix.Iovec
	msgs [readBatch]unix.Mmsghdr

	// recv is the system call, replaced by tests to inject faults.
	recv func(fd uintptr, msgs []unix.Mmsghdr) (int, error)
	// readFn is r.readOnce bound once: a method value made at every read
	// would be an allocation.
	readFn func(fd uintptr) bool
	n      int // datagrams of the last read
	err    error

	// The walk's position: datagram index and offset in it.
	dgram, off int
}

func newBatchReader(rc syscall.RawConn) *batchReader {
	r := &batchReader{rc: rc, buf: make([]byte, readBatch*readBufSize), recv: recvmmsg}
	for i := range r.msgs {
		r.iovs[i].Base = &r.buf[i*readBufSize]
		r.iovs[i].SetLen(readBufSize)
		r.msgs[i].Hdr.Iov = &r.iovs[i]
		r.msgs[i].Hdr.SetIovlen(1)
	}
	r.readFn = r.readOnce
	return r
}

// read blocks until at least one datagram arrived (or the socket's read
// deadline passed) and takes as many as are waiting, up to readBatch.
func (r *batchReader) read() error {
	r.n, r.err, r.dgram, r.off = 0, nil, 0, 0
	if err := r.rc.Read(r.readFn); err != nil {
		return err
	}
	return r.err
}

// readOnce is one non-blocking attempt; false asks the runtime to wait
// until the socket is readable.
func (r *batchReader) readOnce(fd uintptr) bool {
	for i := range r.msgs {
		r.msgs[i].Hdr.Flags = 0
		r.msgs[i].Len = 0
	}
	n, err := r.recv(fd, r.msgs[:])
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return false
	case err != nil:
		r.err = err
	default:
		r.n = n
	}
	return true
}

// recvmmsg takes the datagrams waiting on fd without blocking. The call
// never blocks on the socket (MSG_DONTWAIT; the runtime's poller does the
// waiting), so it
// is made raw: the scheduler's syscall bookkeeping would wake its monitor
// thread on every read after an idle spell (see verdict.go).
func recvmmsg(fd uintptr, msgs []unix.Mmsghdr) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// A queuedPacket is one packet message of a datagram, parsed in place.
type queuedPacket struct {
	ID               uint32
	InDev, PhysInDev uint32 // 0 when the kernel sent none
	HwAddr           []byte // nil when the kernel sent none
	Payload          []byte // nil when the kernel sent none
	// Truncated is set when the datagram did not fit the buffer: the ID
	// is known, the rest may not be.
	Truncated bool
}

// next fills p with the next packet of the last read and reports whether
// there was one. Messages that are not packets (acknowledgements) and
// packets without an ID (which no verdict can settle) are skipped.
func (r *batchReader) next(p *queuedPacket) bool {
	for ; r.dgram < r.n; r.dgram, r.off = r.dgram+1, 0 {
		size := int(r.msgs[r.dgram].Len)
		truncated := r.msgs[r.dgram].Hdr.Flags&unix.MSG_TRUNC != 0
		if size > readBufSize {
			size = readBufSize
		}
		d := r.buf[r.dgram*readBufSize : r.dgram*readBufSize+size]
		for r.off+nlmsgHeaderLen <= len(d) {
			b := d[r.off:]
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			typ := binary.NativeEndian.Uint16(b[4:6])
			if l < nlmsgHeaderLen {
				break
			}
			cut := l > len(b)
			if cut && !truncated {
				break
			}
			r.off += align4(l)
			if typ != nfqPacketMsgType || nlmsgHeaderLen+nfgenHeaderLen > min(l, len(b)) {
				continue
			}
			if parsePacket(b[nlmsgHeaderLen+nfgenHeaderLen:min(l, len(b))], p) {
				p.Truncated = cut
				return true
			}
		}
	}
	return false
}

// parsePacket fills p from a packet message's attributes and reports
// whether it held a packet ID. An attribute cut short (a truncated
// datagram) ends the walk with what was read before it.
func parsePacket(attrs []byte, p *queuedPacket) bool {
	*p = queuedPacket{}
	found := false
	for len(attrs) >= nfqAttrHeaderSize {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < nfqAttrHeaderSize || l > len(attrs) {
			p.Truncated = true
			break
		}
		v := attrs[nfqAttrHeaderSize:l]
		switch {
		case typ == nfqAttrPacketHdr && len(v) >= 4:
			p.ID, found = binary.BigEndian.Uint32(v), true
		case typ == nfqAttrInDev && len(v) >= 4:
			p.InDev = binary.BigEndian.Uint32(v)
		case typ == nfqAttrPhysInDev && len(v) >= 4:
			p.PhysInDev = binary.BigEndian.Uint32(v)
		case typ == nfqAttrHwAddr && len(v) >= 4:
			// struct nfqnl_msg_packet_hw: a big-endian length, padding,
			// then the address.
			if n := int(binary.BigEndian.Uint16(v)); n > 0 && 4+n <= len(v) {
				p.HwAddr = v[4 : 4+n]
			}
		case typ == nfqAttrPayload:
			p.Payload = v
		}
		attrs = attrs[min(align4(l), len(attrs)):]
	}
	return found
}

func align4(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one netlink attribute holding the concatenated parts,
// padded to 4 bytes.
func appendAttr(b []byte, typ uint16, parts ...[]byte) []byte {
	size := nfqAttrHeaderSize
	for _, p := range parts {
		size += len(p)
	}
	b = binary.NativeEndian.AppendUint16(b, uint16(size))
	b = binary.NativeEndian.AppendUint16(b, typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	for i := size; i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}
