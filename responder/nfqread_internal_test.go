package responder

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// appendNfqMessage appends an nfnetlink_queue message (netlink header,
// nfgenmsg, attributes) of type typ.
func appendNfqMessage(b []byte, typ uint16, attrs []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHeaderLen+nfgenHeaderLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, 0)              // flags
	b = binary.NativeEndian.AppendUint32(b, 0)              // sequence
	b = binary.NativeEndian.AppendUint32(b, 0)              // port
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 42) // nfgenmsg
	return append(b, attrs...)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// packetAttrs encodes the attributes the kernel sends for a packet.
func packetAttrs(id uint32, payload []byte) []byte {
	hdr := append(be32(id), 0x08, 0x00, 1) // id, hardware protocol, hook
	hw := []byte{0, 6, 0, 0, 0x52, 0x54, 0, 0, 0xbe, 0x01, 0, 0}
	b := appendAttr(nil, 3, be32(7)) // a mark, skipped
	b = appendAttr(b, nfqAttrPacketHdr, hdr)
	b = appendAttr(b, nfqAttrInDev, be32(12))
	b = appendAttr(b, nfqAttrPhysInDev, be32(13))
	b = appendAttr(b, nfqAttrHwAddr, hw)
	return appendAttr(b, nfqAttrPayload, payload)
}

func TestAppendAttrPadding(t *testing.T) {
	hdr := func(length, typ uint16, rest ...byte) []byte {
		b := binary.NativeEndian.AppendUint16(nil, length)
		return append(binary.NativeEndian.AppendUint16(b, typ), rest...)
	}
	for _, tt := range []struct {
		name  string
		parts [][]byte
		want  []byte
	}{
		{"four bytes", [][]byte{{1, 0, 0, 0}}, hdr(8, 1, 1, 0, 0, 0)},
		{"five bytes padded to eight", [][]byte{{0, 0, 0xff, 0xff}, {2}}, hdr(9, 1, 0, 0, 0xff, 0xff, 2, 0, 0, 0)},
		{"empty", nil, hdr(4, 1)},
	} {
		if diff := cmp.Diff(tt.want, appendAttr(nil, 1, tt.parts...)); diff != "" {
			t.Errorf("%s: appendAttr (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParsePacket(t *testing.T) {
	payload := []byte{0x45, 0, 0, 20}
	hdr := append(be32(0x01020304), 0x08, 0x00, 1)
	for _, tt := range []struct {
		name   string
		attrs  []byte
		want   queuedPacket
		wantOK bool
	}{
		{"every attribute", packetAttrs(0x01020304, payload), queuedPacket{ID: 0x01020304, InDev: 12, PhysInDev: 13,
			HwAddr: []byte{0x52, 0x54, 0, 0, 0xbe, 0x01}, Payload: payload}, true},
		{"header only", appendAttr(nil, nfqAttrPacketHdr, hdr), queuedPacket{ID: 0x01020304}, true},
		{"no header", appendAttr(nil, nfqAttrPayload, payload), queuedPacket{Payload: payload}, false},
		{"bad length", []byte{2, 0, 1, 0}, queuedPacket{Truncated: true}, false},
		{"cut payload", packetAttrs(9, payload)[:len(packetAttrs(9, payload))-4], queuedPacket{ID: 9, InDev: 12, PhysInDev: 13,
			HwAddr: []byte{0x52, 0x54, 0, 0, 0xbe, 0x01}, Truncated: true}, true},
		{"empty", nil, queuedPacket{}, false},
	} {
		var p queuedPacket
		ok := parsePacket(tt.attrs, &p)
		if ok != tt.wantOK {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.wantOK)
		}
		if diff := cmp.Diff(tt.want, p); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
	}
}

// A fakeRawConn hands the reader's callback a dummy descriptor until it is
// done, as the runtime would once the socket is readable.
type fakeRawConn struct{}

func (fakeRawConn) Control(func(uintptr)) error    { return nil }
func (fakeRawConn) Write(func(uintptr) bool) error { return nil }
func (fakeRawConn) Read(f func(uintptr) bool) error {
	for !f(0) {
	}
	return nil
}

var _ syscall.RawConn = fakeRawConn{}

// feed makes r's receive call return datagrams, flagging those in trunc
// as truncated, as the kernel fills recvmmsg's buffers.
func feed(r *batchReader, datagrams [][]byte, trunc map[int]bool) {
	r.recv = func(_ uintptr, msgs []unix.Mmsghdr) (int, error) {
		for i, d := range datagrams {
			n := copy(unsafe.Slice(msgs[i].Hdr.Iov.Base, readBufSize), d)
			msgs[i].Len = uint32(n)
			if trunc[i] {
				msgs[i].Hdr.Flags |= unix.MSG_TRUNC
			}
		}
		return len(datagrams), nil
	}
}

// TestBatchReaderWalk reads datagrams holding several messages, an
// acknowledgement, a packet without an ID and a truncated packet.
func TestBatchReaderWalk(t *testing.T) {
	two := appendNfqMessage(nil, nfqPacketMsgType, packetAttrs(1, []byte("one")))
	two = appendNfqMessage(two, unix.NLMSG_ERROR, make([]byte, 16))
	two = appendNfqMessage(two, nfqPacketMsgType, packetAttrs(2, []byte("two")))
	noID := appendNfqMessage(nil, nfqPacketMsgType, appendAttr(nil, nfqAttrPayload, []byte("x")))
	big := appendNfqMessage(nil, nfqPacketMsgType, packetAttrs(3, make([]byte, readBufSize)))
	last := appendNfqMessage(nil, nfqPacketMsgType, packetAttrs(4, []byte("four")))
	r := newBatchReader(fakeRawConn{})
	feed(r, [][]byte{two, noID, big, last}, map[int]bool{2: true})
	if err := r.read(); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		ID        uint32
		Payload   string
		Truncated bool
	}
	var got []seen
	var p queuedPacket
	for r.next(&p) {
		s := seen{ID: p.ID, Truncated: p.Truncated}
		if !p.Truncated {
			s.Payload = string(p.Payload)
		}
		got = append(got, s)
	}
	want := []seen{{1, "one", false}, {2, "two", false}, {3, "", true}, {4, "four", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets read (-want +got):\n%s", diff)
	}
}

// TestServeReadMarksTheLast checks Packet.More over a read: set on every
// packet the handler sees but the last, also when packets too large to
// read (accepted unread) come after that one; and that every packet is
// settled, in an order a batch verdict allows.
func TestServeReadMarksTheLast(t *testing.T) {
	msg := func(id uint32, payload []byte) []byte {
		return appendNfqMessage(nil, nfqPacketMsgType, packetAttrs(id, payload))
	}
	big := make([]byte, readBufSize)
	for _, tt := range []struct {
		name      string
		datagrams [][]byte
		trunc     map[int]bool
		want      []string // what the handler saw: ID and More
		verdicts  []string
	}{
		{"three", [][]byte{msg(1, []byte("a")), msg(2, []byte("b")), msg(3, []byte("c"))}, nil,
			[]string{"1 more", "2 more", "3 last"}, []string{"drop up to 3"}},
		{"one", [][]byte{msg(1, []byte("a"))}, nil,
			[]string{"1 last"}, []string{"drop 1"}},
		{"truncated after the last", [][]byte{msg(1, []byte("a")), msg(2, []byte("b")), msg(3, big), msg(4, big)}, map[int]bool{2: true, 3: true},
			[]string{"1 more", "2 last"}, []string{"drop 1", "accept 3", "accept 4", "drop 2"}},
		{"truncated between", [][]byte{msg(1, []byte("a")), msg(2, big), msg(3, []byte("c"))}, map[int]bool{1: true},
			// 2 is settled before 1: the batch up to 3 covers only the
			// packets still queued, 1 and 3.
			[]string{"1 more", "3 last"}, []string{"accept 2", "drop up to 3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newBatchReader(fakeRawConn{})
			feed(r, tt.datagrams, tt.trunc)
			if err := r.read(); err != nil {
				t.Fatal(err)
			}
			var rec recordingSetter
			verdicts := newDropBatch(&rec)
			var saw []string
			handle := func(p *Packet) Verdict {
				s := fmt.Sprintf("%d last", p.ID)
				if p.More {
					s = fmt.Sprintf("%d more", p.ID)
				}
				saw = append(saw, s)
				return Drop
			}
			q := &Queue{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			q.serveRead(r, &readState{}, handle, verdicts)
			if err := verdicts.endOfRead(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, saw); diff != "" {
				t.Errorf("handler saw (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.verdicts, rec.messages()); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// countingSetter settles packets without a kernel.
type countingSetter struct{ single, batch int }

func (c *countingSetter) SetVerdict(uint32, int) error      { c.single++; return nil }
func (c *countingSetter) SetVerdictBatch(uint32, int) error { c.batch++; return nil }

// readPathRig feeds a queue's read path with the fixture's real datagrams
// and serves every packet to a handler that drops it.
type readPathRig struct {
	q        *Queue
	r        *batchReader
	verdicts *dropBatch
	qp       queuedPacket
	p        Packet
	handle   func(*Packet) Verdict
	perRead  int
}

func newReadPathRig(tb testing.TB) *readPathRig {
	b, err := os.ReadFile("testdata/nfqueue-datagrams.bin")
	if err != nil {
		tb.Fatal(err)
	}
	var ds [][]byte
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint32(b))
		ds = append(ds, b[4:4+n])
		b = b[4+n:]
	}
	rig := &readPathRig{
		q:        &Queue{},
		r:        newBatchReader(fakeRawConn{}),
		verdicts: newDropBatch(&countingSetter{}),
		handle:   func(*Packet) Verdict { return Drop },
		perRead:  len(ds),
	}
	feed(rig.r, ds, nil)
	return rig
}

// readOnce is one pass of Run's loop: one receive, every packet served.
func (rig *readPathRig) readOnce() int {
	if err := rig.r.read(); err != nil {
		panic(err)
	}
	n := 0
	for rig.r.next(&rig.qp) {
		rig.q.serve(&rig.qp, false, &rig.p, rig.handle, rig.verdicts)
		n++
	}
	if err := rig.verdicts.endOfRead(); err != nil {
		panic(err)
	}
	return n
}

// TestQueueReadPathAllocations holds the read path to no allocation per
// batch of 64 real queued packets: receive, parse, hand over, verdict.
func TestQueueReadPathAllocations(t *testing.T) {
	rig := newReadPathRig(t)
	if n := rig.readOnce(); n != rig.perRead {
		t.Fatalf("read %d packets of the fixture's %d", n, rig.perRead)
	}
	if a := testing.AllocsPerRun(100, func() { rig.readOnce() }); a != 0 {
		t.Errorf("%.1f allocations per batch of %d packets, want 0", a, rig.perRead)
	}
}

// BenchmarkQueueReadPath measures the read path per packet (op = one
// packet) on the fixture's real datagrams, 64 to a receive call: the copy
// the kernel would do, the walk over the messages, the attribute parse,
// the Packet handed to a handler and its (batched) Drop verdict.
func BenchmarkQueueReadPath(b *testing.B) {
	rig := newReadPathRig(b)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		done += rig.readOnce()
	}
}
