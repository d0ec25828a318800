package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A prober is a DHCP client in the VM namespace that sends DISCOVERs and
// reports the first OFFER.
type prober struct {
	conn *net.UDPConn
	mac  net.HardwareAddr
}

// newProber opens a UDP socket on port 68 of the VM's eth0. The socket is
// created on a thread switched into the VM namespace and stays there.
func newProber(vm string) (*prober, error) {
	mac, err := net.ParseMAC(probeMAC)
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("scale: current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(vm)
	if err != nil {
		return nil, fmt.Errorf("scale: netns %s: %w", vm, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return nil, fmt.Errorf("scale: enter netns %s: %w", vm, err)
	}
	defer netns.Set(orig)
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
			if serr == nil {
				serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "eth0")
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:68")
	if err != nil {
		return nil, fmt.Errorf("scale: probe socket: %w", err)
	}
	return &prober{conn: pc.(*net.UDPConn), mac: mac}, nil
}

func (p *prober) close() { p.conn.Close() }

var errNoAnswer = errors.New("no answer")

// firstOffer sends a DISCOVER every interval until an OFFER for one of them
// arrives or timeout passes, and returns when the OFFER arrived.
func (p *prober) firstOffer(interval, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1500)
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	sent := map[dhcpv4.TransactionID]bool{}
	for time.Now().Before(deadline) {
		d, err := dhcpv4.NewDiscovery(p.mac, dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter))
		if err != nil {
			return time.Time{}, fmt.Errorf("scale: discover: %w", err)
		}
		sent[d.TransactionID] = true
		if _, err := p.conn.WriteToUDP(d.ToBytes(), dst); err != nil {
			return time.Time{}, fmt.Errorf("scale: send discover: %w", err)
		}
		next := time.Now().Add(interval)
		for {
			p.conn.SetReadDeadline(next)
			n, _, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				// Unanswered DISCOVERs go on into the hypervisor's stack,
				// which reports port 67 closed: that is "no answer" too.
				if errors.Is(err, syscall.ECONNREFUSED) {
					continue
				}
				return time.Time{}, fmt.Errorf("scale: receive: %w", err)
			}
			at := time.Now()
			m, err := dhcpv4.FromBytes(buf[:n])
			if err == nil && m.MessageType() == dhcpv4.MessageTypeOffer && sent[m.TransactionID] {
				return at, nil
			}
		}
	}
	return time.Time{}, errNoAnswer
}
