package responder

import (
	"bytes"
	"encoding/binary"
	"os"
	"syscall"
	"testing"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// libraryVerdict is the message go-nfqueue sends for the same verdict,
// built the way it builds it, through mdlayher/netlink: the oracle.
func libraryVerdict(t *testing.T, queue uint16, msgType uint16, id uint32, verdict int) []byte {
	t.Helper()
	hdr := binary.BigEndian.AppendUint32(nil, uint32(verdict))
	hdr = binary.BigEndian.AppendUint32(hdr, id)
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: nfqAttrVerdictHdr, Data: hdr}})
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, byte(queue >> 8), byte(queue)}, attrs...)
	b, err := netlink.Message{
		Header: netlink.Header{Length: uint32(unix.SizeofNlMsghdr + len(data)), Type: netlink.HeaderType(nfnlSubsysQueue<<8 | msgType), Flags: netlink.Request},
		Data:   data,
	}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerdictWriterMessages sends verdicts on a real netfilter netlink
// socket and reads back the kernel's error reply, which quotes the request
// it refused (no queue is bound on that socket): what reached the kernel
// must be the message go-nfqueue would have sent.
func TestVerdictWriterMessages(t *testing.T) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatalf("netlink socket: %v", err)
	}
	f := os.NewFile(uintptr(fd), "netlink")
	defer f.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	const queue = 0x1234
	w := newVerdictWriter(rc, queue)
	cases := []struct {
		name    string
		send    func(uint32, int) error
		msgType uint16
		id      uint32
		verdict int
	}{
		{"drop", w.SetVerdict, nfqMsgVerdict, 7, nfqueue.NfDrop},
		{"accept", w.SetVerdict, nfqMsgVerdict, 0xfffffffe, nfqueue.NfAccept},
		{"batch drop", w.SetVerdictBatch, nfqMsgVerdictBatch, 65536, nfqueue.NfDrop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.send(c.id, c.verdict); err != nil {
				t.Fatalf("send: %v", err)
			}
			reply := make([]byte, 4096)
			n, err := readWithin(rc, reply)
			if err != nil {
				t.Fatalf("no reply from the kernel: %v", err)
			}
			// NLMSG_ERROR: header, error code, then the request as sent.
			reply = reply[:n]
			if len(reply) < unix.SizeofNlMsghdr+4+verdictMsgLen || binary.NativeEndian.Uint16(reply[4:]) != unix.NLMSG_ERROR {
				t.Fatalf("reply is not an error message quoting the request: % x", reply)
			}
			quoted := reply[unix.SizeofNlMsghdr+4:][:verdictMsgLen]
			want := libraryVerdict(t, queue, c.msgType, c.id, c.verdict)
			if !bytes.Equal(quoted, want) {
				t.Errorf("the kernel got\n% x\nwant (go-nfqueue's message)\n% x", quoted, want)
			}
		})
	}
	if err := w.SetVerdict(1, nfqueue.NfRepeat); err == nil {
		t.Errorf("a verdict the daemon never sets was sent")
	}
	if a := testing.AllocsPerRun(100, func() { w.SetVerdict(1, nfqueue.NfDrop) }); a != 0 {
		t.Errorf("%.0f allocations per verdict, want none", a)
	}
}

// readWithin reads one datagram, waiting up to a second for it.
func readWithin(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	for range 1000 {
		err := rc.Control(func(fd uintptr) {
			n, _, rerr = unix.Recvfrom(int(fd), b, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		})
		if err != nil {
			return 0, err
		}
		if rerr != unix.EAGAIN {
			return n, rerr
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
	}
	return 0, rerr
}
