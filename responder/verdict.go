package responder

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"golang.org/x/sys/unix"
)

// Verdict messages, written on the queue's socket by the daemon itself.
//
// go-nfqueue's SetVerdict builds each message afresh (a handful of
// allocations) and sends it through the runtime's blocking-syscall path,
// whose entry wakes the runtime's monitor thread whenever the process was
// idle: at a few hundred packets a second that wake-up, and the monitor's
// sleeps that follow, were a third of the daemon's context switches. A
// verdict is a fixed 32-byte message to the kernel that never blocks, so
// it is kept ready here, the ID and verdict patched in, and sent with a
// raw system call.
const (
	nfqMsgVerdict      = 1
	nfqMsgVerdictBatch = 3
	nfqAttrVerdictHdr  = 2
	// verdictMsgLen: netlink header, nfgenmsg, one attribute holding
	// struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; }.
	verdictMsgLen = unix.SizeofNlMsghdr + nfgenHeaderLen + nfqAttrHeaderSize + 8
)

// A verdictWriter sets verdicts for one queue through the raw socket of
// the queue's netlink connection. It belongs to the queue's read loop.
type verdictWriter struct {
	rc  syscall.RawConn
	msg [verdictMsgLen]byte
	to  unix.RawSockaddrNetlink // the kernel
	err error
	// writeFn is w.write bound once: a method value made per verdict
	// would be an allocation.
	writeFn func(fd uintptr) bool
}

var _ verdictSetter = (*verdictWriter)(nil)

func newVerdictWriter(rc syscall.RawConn, queue uint16) *verdictWriter {
	w := &verdictWriter{rc: rc, to: unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}}
	m := w.msg[:]
	binary.NativeEndian.PutUint32(m[0:], verdictMsgLen)
	binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST)
	// nfgenmsg: family, version, queue number (big-endian).
	m[16], m[17] = unix.AF_UNSPEC, unix.NFNETLINK_V0
	binary.BigEndian.PutUint16(m[18:], queue)
	binary.NativeEndian.PutUint16(m[20:], nfqAttrHeaderSize+8)
	binary.NativeEndian.PutUint16(m[22:], nfqAttrVerdictHdr)
	w.writeFn = w.write
	return w
}

// SetVerdict settles packet id.
func (w *verdictWriter) SetVerdict(id uint32, verdict int) error {
	return w.send(nfqMsgVerdict, id, verdict)
}

// SetVerdictBatch settles every queued packet up to id.
func (w *verdictWriter) SetVerdictBatch(id uint32, verdict int) error {
	return w.send(nfqMsgVerdictBatch, id, verdict)
}

func (w *verdictWriter) send(msgType uint16, id uint32, verdict int) error {
	if verdict != nfqueue.NfDrop && verdict != nfqueue.NfAccept {
		return nfqueue.ErrInvalidVerdict
	}
	binary.NativeEndian.PutUint16(w.msg[4:], nfnlSubsysQueue<<8|msgType)
	binary.BigEndian.PutUint32(w.msg[24:], uint32(verdict))
	binary.BigEndian.PutUint32(w.msg[28:], id)
	w.err = nil
	if err := w.rc.Write(w.writeFn); err != nil {
		return err
	}
	return w.err
}

// write sends the message once. A netlink message to the kernel is
// handled in the call and never blocks on the socket, so the raw call (no
// scheduler bookkeeping) is safe.
func (w *verdictWriter) write(fd uintptr) bool {
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&w.msg[0])), verdictMsgLen, 0,
		uintptr(unsafe.Pointer(&w.to)), unix.SizeofSockaddrNetlink)
	if errno != 0 {
		w.err = errno
	}
	return true
}
