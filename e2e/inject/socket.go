// Package inject crafts the broken, forged and oversized frames of the
// hardening tests and puts them on a VM's link: an AF_PACKET socket opened
// inside the VM's network namespace writes them out of its interface and
// collects what comes back. Nothing here checks what it builds; making bad
// packets is its purpose.
package inject

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// A Socket sends and receives whole Ethernet frames on one interface.
type Socket struct {
	fd      int
	ifindex int
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open opens a socket on the interface ifname of the calling thread's
// network namespace; the socket stays in that namespace afterwards.
func Open(ifname string) (*Socket, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("inject: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("inject: socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inject: bind %s: %w", ifname, err)
	}
	return &Socket{fd: fd, ifindex: ifi.Index}, nil
}

// Close closes the socket.
func (s *Socket) Close() error { return unix.Close(s.fd) }

// Send writes frame, which starts with its Ethernet header, as it is.
func (s *Socket) Send(frame []byte) error {
	to := &unix.SockaddrLinklayer{Ifindex: s.ifindex, Halen: 6}
	copy(to.Addr[:], frame[0:6])
	if err := unix.Sendto(s.fd, frame, 0, to); err != nil {
		return fmt.Errorf("inject: send: %w", err)
	}
	return nil
}

// Drain discards the frames already received.
func (s *Socket) Drain() {
	buf := make([]byte, 65536)
	for {
		if _, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// Collect returns the frames that arrive on the interface (not those it
// sends) during d for which keep returns true, in order.
func (s *Socket) Collect(d time.Duration, keep func([]byte) bool) ([][]byte, error) {
	var got [][]byte
	deadline := time.Now().Add(d)
	buf := make([]byte, 65536)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return got, nil
		}
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return got, fmt.Errorf("inject: poll: %w", err)
		}
		if n == 0 {
			continue
		}
		m, from, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return got, fmt.Errorf("inject: recv: %w", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if keep == nil || keep(buf[:m]) {
			got = append(got, append([]byte(nil), buf[:m]...))
		}
	}
}
