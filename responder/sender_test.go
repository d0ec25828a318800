package responder_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// An EtherType from the IEEE "local experimental" range, so that no
// protocol stack reacts to the test frames.
const senderTestEtherType = 0x88b5

// senderTestFrame builds an Ethernet frame from src to dst carrying
// payload, padded to the 60-byte minimum.
func senderTestFrame(dst, src []byte, payload string) []byte {
	f := make([]byte, 14, 60)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], senderTestEtherType)
	f = append(f, payload...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}

// TestSenderDelivers writes frames with the Sender on one end of a veth
// pair and reads them back, byte for byte, on the other.
func TestSenderDelivers(t *testing.T) {
	l := nfqNewLink(t)
	near0 := nfqInterface(t, l.Near, "near0")
	far0 := nfqInterface(t, l.Far, "far0")

	var s *responder.PacketSender
	var err error
	netnstest.InNS(t, l.Near, func() { s, err = responder.NewSender() })
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	defer s.Close()

	var rfd int
	netnstest.InNS(t, l.Far, func() {
		proto := int(senderHtons(senderTestEtherType))
		rfd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err == nil {
			err = unix.Bind(rfd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: far0.Index})
		}
	})
	if err != nil {
		t.Fatalf("receiving socket in %s: %v", l.Far, err)
	}
	defer unix.Close(rfd)
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(rfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	receive := func() ([]byte, error) {
		buf := make([]byte, 2048)
		n, _, err := unix.Recvfrom(rfd, buf, 0)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}

	// The veth's carrier may take a moment to come up after "link set up":
	// send the first frame until it arrives.
	first := senderTestFrame(far0.HardwareAddr, near0.HardwareAddr, "first frame")
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err := s.Send(near0.Index, first); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got, err := receive()
		if err == nil {
			if diff := cmp.Diff(first, got); diff != "" {
				t.Fatalf("first frame on far0 (-want +got):\n%s", diff)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame arrived on far0 within 5s: %v", err)
		}
	}
	second := senderTestFrame(far0.HardwareAddr, near0.HardwareAddr, strings.Repeat("x", 1400))
	if err := s.Send(near0.Index, second); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for deadline := time.Now().Add(3 * time.Second); ; {
		got, err := receive()
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("second frame never arrived: %v", err)
		}
		if err != nil || bytes.Equal(got, first) { // a late retry of the first
			continue
		}
		if diff := cmp.Diff(second, got); diff != "" {
			t.Errorf("second frame on far0 (-want +got):\n%s", diff)
		}
		break
	}
	// Sending is on every reply's path, which allocates nothing.
	allocs := testing.AllocsPerRun(20, func() {
		if err := s.Send(near0.Index, first); err != nil {
			t.Fatalf("Send: %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("Send allocates %.1f times per frame, want 0", allocs)
	}
}

// TestSenderErrors checks that failures name the interface and that a
// closed Sender refuses to send.
func TestSenderErrors(t *testing.T) {
	l := nfqNewLink(t)
	near0 := nfqInterface(t, l.Near, "near0")
	var s *responder.PacketSender
	var err error
	netnstest.InNS(t, l.Near, func() { s, err = responder.NewSender() })
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	frame := senderTestFrame([]byte{2, 0, 0, 0, 0, 1}, near0.HardwareAddr, "x")
	tests := []struct {
		name    string
		ifindex int
		frame   []byte
		close   bool
		want    string
		wantErr error
	}{
		{name: "short frame", ifindex: near0.Index, frame: frame[:13], want: "shorter than an Ethernet header"},
		{name: "no such interface", ifindex: 9999, frame: frame, want: "ifindex 9999", wantErr: unix.ENXIO},
		{name: "closed", ifindex: near0.Index, frame: frame, close: true, want: "sender closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.close {
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			}
			err := s.Send(tt.ifindex, tt.frame)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "responder: ") {
				t.Fatalf("Send error = %v, want a responder: error containing %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Send error = %v, want it to wrap %v", err, tt.wantErr)
			}
		})
	}
}

// senderHtons returns v in network byte order, as sockaddr_ll wants it.
func senderHtons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
