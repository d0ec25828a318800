package main

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestNLAttrPadding(t *testing.T) {
	tests := []struct {
		name  string
		typ   uint16
		parts []any
		want  []byte
	}{
		{"four bytes", nfqaCfgCmd, []any{[]byte{nfqnlCfgCmdBind, 0, 0, unix.AF_UNSPEC}},
			le16s(8, nfqaCfgCmd, nfqnlCfgCmdBind, 0, 0, unix.AF_UNSPEC)},
		{"five bytes padded to eight", nfqaCfgParams, []any{[]byte{0, 0, 0xff, 0xff}, nfqnlCopyPacket},
			le16s(9, nfqaCfgParams, 0, 0, 0xff, 0xff, nfqnlCopyPacket, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, nlAttr(tt.typ, tt.parts...)); diff != "" {
				t.Errorf("nlAttr (-want +got):\n%s", diff)
			}
		})
	}
}

// le16s encodes an attribute header (length, type) in host order followed
// by the given bytes.
func le16s(length, typ uint16, rest ...byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, length)
	b = binary.NativeEndian.AppendUint16(b, typ)
	return append(b, rest...)
}

func TestPacketID(t *testing.T) {
	hdr := binary.BigEndian.AppendUint32(nil, 0x01020304)
	hdr = append(hdr, 0x08, 0x00, 1) // hw protocol, hook
	mark := nlAttr(3, binary.BigEndian.AppendUint32(nil, 7))
	tests := []struct {
		name   string
		attrs  []byte
		want   uint32
		wantOK bool
	}{
		{"header first", nlAttr(nfqaPacketHdr, hdr), 0x01020304, true},
		{"header after another attribute", append(append([]byte{}, mark...), nlAttr(nfqaPacketHdr, hdr)...), 0x01020304, true},
		{"no header", mark, 0, false},
		{"bad length", []byte{2, 0, 1, 0}, 0, false},
		{"empty", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := packetID(tt.attrs)
			if id != tt.want || ok != tt.wantOK {
				t.Errorf("packetID = %#x, %v; want %#x, %v", id, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNFQMessage(t *testing.T) {
	attrs := nlAttr(nfqaVerdictHdr, make([]byte, 8))
	msg := nfqMessage(nfqnlMsgVerdictBat, unix.NLM_F_REQUEST, 9, 42, attrs)
	got := []uint64{
		uint64(binary.NativeEndian.Uint32(msg[0:4])),  // length
		uint64(binary.NativeEndian.Uint16(msg[4:6])),  // type
		uint64(binary.NativeEndian.Uint16(msg[6:8])),  // flags
		uint64(binary.NativeEndian.Uint32(msg[8:12])), // sequence
		uint64(msg[16]), uint64(msg[17]), // family, version
		uint64(binary.BigEndian.Uint16(msg[18:20])), // queue
	}
	want := []uint64{uint64(16 + 4 + len(attrs)), nfnlSubsysQueue<<8 | nfqnlMsgVerdictBat, unix.NLM_F_REQUEST, 9,
		unix.AF_UNSPEC, unix.NFNETLINK_V0, 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nfqMessage header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(attrs, msg[20:]); diff != "" {
		t.Errorf("nfqMessage attributes (-want +got):\n%s", diff)
	}
}
