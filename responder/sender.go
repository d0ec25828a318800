package responder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A PacketSender is the Sender that writes frames onto TAPs through one
// AF_PACKET socket.
//
// One raw socket serves every interface: each frame names its interface in
// the sendto address, so a TAP appearing or disappearing needs no socket to
// be opened or closed (mdlayher/packet's Conn is bound to one interface,
// which would mean a socket per TAP and bookkeeping on every link event).
// The socket is opened with protocol 0, so the kernel delivers it no
// incoming packets at all. sendto on one socket is safe from many
// goroutines.
type PacketSender struct {
	mu sync.RWMutex // held for reading while sending, for writing by Close
	fd int          // -1 once closed
}

var _ Sender = (*PacketSender)(nil)

// NewSender opens the raw socket in the calling thread's network
// namespace. It needs CAP_NET_RAW.
func NewSender() (*PacketSender, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("responder: open AF_PACKET socket: %w", err)
	}
	return &PacketSender{fd: fd}, nil
}

// Send writes frame, a complete Ethernet frame, onto the interface with
// index ifindex. It keeps no reference to frame once it returned, so that
// callers reuse one buffer for every reply. It never blocks: when the interface's queue is full the
// frame is refused (EAGAIN) rather than stalling the queue loop behind one
// slow TAP.
func (s *PacketSender) Send(ifindex int, frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("responder: send on ifindex %d: frame of %d bytes is shorter than an Ethernet header", ifindex, len(frame))
	}
	addr := linkAddr(ifindex, frame)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return fmt.Errorf("responder: send on ifindex %d: %w", ifindex, errSenderClosed)
	}
	// MSG_DONTWAIT keeps the call from blocking on the socket, so it is
	// made raw: the scheduler's syscall bookkeeping would wake its monitor
	// thread on every reply after an idle spell (see verdict.go).
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&addr)), unix.SizeofSockaddrLinklayer)
	if errno != 0 {
		return fmt.Errorf("responder: send on ifindex %d: %w", ifindex, errno)
	}
	return nil
}

// linkAddr is the sendto address of frame on interface ifindex: its
// EtherType and destination MAC.
func linkAddr(ifindex int, frame []byte) unix.RawSockaddrLinklayer {
	addr := unix.RawSockaddrLinklayer{
		Family:  unix.AF_PACKET,
		Ifindex: int32(ifindex),
		// The kernel reads the EtherType in network byte order: keeping the
		// frame's two bytes in memory order does that on any host.
		Protocol: binary.NativeEndian.Uint16(frame[12:14]),
		Halen:    6,
	}
	copy(addr.Addr[:], frame[:6])
	return addr
}

// frameBatchMax is how many frames one sendmmsg writes: a read's worth.
const frameBatchMax = readBatch

// A frameBatch holds copies of frames, each at least an Ethernet header
// long, with the structures sendmmsg reads, all reused from one batch to
// the next.
type frameBatch struct {
	n     int
	bufs  [frameBatchMax][]byte
	addrs [frameBatchMax]unix.RawSockaddrLinklayer
	iovs  [frameBatchMax]unix.Iovec
	msgs  [frameBatchMax]unix.Mmsghdr
}

func (b *frameBatch) add(ifindex int, frame []byte) {
	i := b.n
	b.bufs[i] = append(b.bufs[i][:0], frame...)
	b.addrs[i] = linkAddr(ifindex, frame)
	b.iovs[i].Base = &b.bufs[i][0]
	b.iovs[i].SetLen(len(frame))
	b.msgs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&b.addrs[i])),
		Namelen: unix.SizeofSockaddrLinklayer,
		Iov:     &b.iovs[i],
	}}
	b.msgs[i].Hdr.SetIovlen(1)
	b.n++
}

var _ batchSender = (*PacketSender)(nil)

// sendBatch writes b's frames from index from on with one sendmmsg,
// without blocking (see Send).
func (s *PacketSender) sendBatch(b *frameBatch, from int) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, fmt.Errorf("responder: send on ifindex %d: %w", b.addrs[from].Ifindex, errSenderClosed)
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.msgs[from])), uintptr(b.n-from),
		unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("responder: send on ifindex %d: %w", b.addrs[from].Ifindex, errno)
	}
	return int(n), nil
}

// Close closes the socket; later Sends fail.
func (s *PacketSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	if err != nil {
		return fmt.Errorf("responder: close AF_PACKET socket: %w", err)
	}
	return nil
}

var errSenderClosed = errors.New("sender closed")
