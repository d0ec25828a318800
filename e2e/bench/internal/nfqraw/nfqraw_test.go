package nfqraw_test

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nfdhcpd/nfdhcpd/e2e/bench/internal/nfqraw"
)

// attrHeader encodes an attribute header (length, type) in host order
// followed by the given bytes.
func attrHeader(length, typ uint16, rest ...byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, length)
	b = binary.NativeEndian.AppendUint16(b, typ)
	return append(b, rest...)
}

func TestAttrPadding(t *testing.T) {
	tests := []struct {
		name  string
		typ   uint16
		parts [][]byte
		want  []byte
	}{
		{"four bytes", 1, [][]byte{{1, 0, 0, 0}}, attrHeader(8, 1, 1, 0, 0, 0)},
		{"five bytes padded to eight", 2, [][]byte{{0, 0, 0xff, 0xff}, {2}}, attrHeader(9, 2, 0, 0, 0xff, 0xff, 2, 0, 0, 0)},
		{"empty", 3, nil, attrHeader(4, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, nfqraw.Attr(tt.typ, tt.parts...)); diff != "" {
				t.Errorf("Attr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePacket(t *testing.T) {
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	hdr := append(be32(0x01020304), 0x08, 0x00, 1) // id, hw protocol, hook
	hw := append([]byte{0, 6, 0, 0}, 0x52, 0x54, 0, 0, 0xbe, 0x01, 0, 0)
	payload := []byte{0x45, 0, 0, 20}
	full := append(append(append(append(append(
		nfqraw.Attr(3, be32(7)), // mark, skipped
		nfqraw.Attr(1, hdr)...),
		nfqraw.Attr(5, be32(12))...),
		nfqraw.Attr(7, be32(13))...),
		nfqraw.Attr(9, hw)...),
		nfqraw.Attr(10, payload)...)
	tests := []struct {
		name   string
		attrs  []byte
		want   nfqraw.Packet
		wantOK bool
	}{
		{"every attribute", full, nfqraw.Packet{ID: 0x01020304, InDev: 12, PhysInDev: 13,
			HwAddr: []byte{0x52, 0x54, 0, 0, 0xbe, 0x01}, Payload: payload}, true},
		{"header only", nfqraw.Attr(1, hdr), nfqraw.Packet{ID: 0x01020304}, true},
		{"no header", nfqraw.Attr(10, payload), nfqraw.Packet{Payload: payload}, false},
		{"bad length", []byte{2, 0, 1, 0}, nfqraw.Packet{}, false},
		{"empty", nil, nfqraw.Packet{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p nfqraw.Packet
			ok := nfqraw.ParsePacket(tt.attrs, &p)
			if ok != tt.wantOK {
				t.Errorf("ParsePacket ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("ParsePacket (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendMessage(t *testing.T) {
	attrs := nfqraw.Attr(2, make([]byte, 8))
	msg := nfqraw.AppendMessage([]byte{0xaa}, 3, unix.NLM_F_REQUEST, 9, 42, attrs)[1:]
	got := []uint64{
		uint64(binary.NativeEndian.Uint32(msg[0:4])),  // length
		uint64(binary.NativeEndian.Uint16(msg[4:6])),  // type
		uint64(binary.NativeEndian.Uint16(msg[6:8])),  // flags
		uint64(binary.NativeEndian.Uint32(msg[8:12])), // sequence
		uint64(msg[16]), uint64(msg[17]), // family, version
		uint64(binary.BigEndian.Uint16(msg[18:20])), // queue
	}
	want := []uint64{uint64(20 + len(attrs)), 3<<8 | 3, unix.NLM_F_REQUEST, 9, unix.AF_UNSPEC, unix.NFNETLINK_V0, 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendMessage header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(attrs, msg[20:]); diff != "" {
		t.Errorf("AppendMessage attributes (-want +got):\n%s", diff)
	}
}
