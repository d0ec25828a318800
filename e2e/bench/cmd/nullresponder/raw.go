package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"
)

// Netlink and nfnetlink_queue constants (linux/netfilter/nfnetlink_queue.h),
// which x/sys/unix does not all name.
const (
	nfnlSubsysQueue     = 3
	nfqnlMsgPacket      = 0
	nfqnlMsgVerdictBat  = 3
	nfqnlMsgConfig      = 2
	nfqaCfgCmd          = 1
	nfqaCfgParams       = 2
	nfqaCfgQueueMaxLen  = 3
	nfqaCfgMask         = 4
	nfqaCfgFlags        = 5
	nfqnlCfgCmdBind     = 1
	nfqnlCfgCmdPfBind   = 3
	nfqnlCfgCmdPfUnbind = 4
	nfqnlCopyPacket     = 2
	nfqaCfgFFailOpen    = 1
	nfqaPacketHdr       = 1
	nfqaVerdictHdr      = 2
	nlmsgHdrLen         = 16
	nfgenHdrLen         = 4
)

// runRaw is run without the library: one blocking netlink socket read by
// one thread, every batch of queued packets read with one recvfrom and
// dropped with one batch verdict. It is the cheapest a userspace program
// can take packets off the queue, which makes it the floor the kernel path
// sets.
func runRaw(ctx context.Context, num uint16, maxLen uint32, log *slog.Logger) (uint64, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return 0, fmt.Errorf("nullresponder: netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("nullresponder: bind netlink: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1); err != nil {
		return 0, fmt.Errorf("nullresponder: NETLINK_NO_ENOBUFS: %w", err)
	}
	// The read times out now and then so that the loop notices ctx.
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, fmt.Errorf("nullresponder: SO_RCVTIMEO: %w", err)
	}

	cfg := []struct {
		queue uint16
		attrs []byte
	}{
		{0, nlAttr(nfqaCfgCmd, []byte{nfqnlCfgCmdPfUnbind, 0, 0, unix.AF_INET})},
		{0, nlAttr(nfqaCfgCmd, []byte{nfqnlCfgCmdPfBind, 0, 0, unix.AF_INET})},
		{num, nlAttr(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, unix.AF_UNSPEC})},
		{num, nlAttr(nfqaCfgParams, binary.BigEndian.AppendUint32(nil, 0xffff), nfqnlCopyPacket)},
		{num, append(append(
			nlAttr(nfqaCfgFlags, binary.BigEndian.AppendUint32(nil, nfqaCfgFFailOpen)),
			nlAttr(nfqaCfgMask, binary.BigEndian.AppendUint32(nil, nfqaCfgFFailOpen))...),
			nlAttr(nfqaCfgQueueMaxLen, binary.BigEndian.AppendUint32(nil, maxLen))...)},
	}
	for i, c := range cfg {
		msg := nfqMessage(nfqnlMsgConfig, unix.NLM_F_REQUEST|unix.NLM_F_ACK, uint32(i+1), c.queue, c.attrs)
		if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return 0, fmt.Errorf("nullresponder: queue %d config %d: %w", num, i, err)
		}
		if err := readAck(fd); err != nil && i > 0 {
			// Unbinding a family nobody bound may fail; the rest may not.
			return 0, fmt.Errorf("nullresponder: queue %d config %d: %w", num, i, err)
		}
	}
	log.Info("queue bound", "queue", num, "mode", "raw")

	var count uint64
	buf := make([]byte, 1<<20)
	verdict := make([]byte, 0, 64)
	for ctx.Err() == nil {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
				continue
			}
			return count, fmt.Errorf("nullresponder: read queue %d: %w", num, err)
		}
		var last uint32
		var seen bool
		for b := buf[:n]; len(b) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < nlmsgHdrLen || l > len(b) {
				break
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			if typ == nfnlSubsysQueue<<8|nfqnlMsgPacket {
				if id, ok := packetID(b[nlmsgHdrLen+nfgenHdrLen : l]); ok {
					count++
					last, seen = id, true
				}
			}
			b = b[min(align4(l), len(b)):]
		}
		if !seen {
			continue
		}
		// One batch verdict drops every packet up to the last id read.
		hdr := binary.BigEndian.AppendUint32(nil, 0) // NF_DROP
		hdr = binary.BigEndian.AppendUint32(hdr, last)
		verdict = nfqMessageAppend(verdict[:0], nfqnlMsgVerdictBat, unix.NLM_F_REQUEST, 0, num, nlAttr(nfqaVerdictHdr, hdr))
		if err := unix.Sendto(fd, verdict, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			log.Error("verdict failed", "error", err)
		}
	}
	return count, nil
}

// packetID finds NFQA_PACKET_HDR among a packet message's attributes.
func packetID(attrs []byte) (uint32, bool) {
	for len(attrs) >= 4 {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4]) &^ unix.NLA_F_NESTED
		if l < 4 || l > len(attrs) {
			return 0, false
		}
		if typ == nfqaPacketHdr && l >= 8 {
			return binary.BigEndian.Uint32(attrs[4:8]), true
		}
		attrs = attrs[min(align4(l), len(attrs)):]
	}
	return 0, false
}

func align4(n int) int { return (n + 3) &^ 3 }

// nlAttr encodes one netlink attribute of the given parts, padded.
func nlAttr(typ uint16, parts ...any) []byte {
	var data []byte
	for _, p := range parts {
		switch v := p.(type) {
		case []byte:
			data = append(data, v...)
		case int:
			data = append(data, byte(v))
		}
	}
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nfqMessage(msgType uint8, flags uint16, seq uint32, queue uint16, attrs []byte) []byte {
	return nfqMessageAppend(nil, msgType, flags, seq, queue, attrs)
}

// nfqMessageAppend appends an nfnetlink_queue message: netlink header,
// nfgenmsg (family unspecified, version 0, queue number big-endian), then
// the attributes.
func nfqMessageAppend(b []byte, msgType uint8, flags uint16, seq uint32, queue uint16, attrs []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHdrLen+nfgenHdrLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, uint16(nfnlSubsysQueue)<<8|uint16(msgType))
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0)
	b = binary.BigEndian.AppendUint16(b, queue)
	return append(b, attrs...)
}

// readAck reads the kernel's answer to a request sent with NLM_F_ACK.
func readAck(fd int) error {
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
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
