package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// errNoReply reports that no DHCP reply arrived before the deadline.
var errNoReply = errors.New("no reply")

// A rawDHCPClient is a minimal DHCPv4 client for the timing-sensitive and
// crafted-packet cases: it sends one request frame and waits for the reply
// with the same transaction ID, without the retry timers of real clients. Its
// AF_PACKET socket is opened inside a VM namespace and used from any thread.
type rawDHCPClient struct {
	fd      int
	ifindex int
	mac     net.HardwareAddr
	// chaddr, when set, goes into the DHCP message instead of mac, to forge
	// a client hardware address that differs from the frame's source.
	chaddr net.HardwareAddr
}

// newRawDHCPClient opens the client on ifname inside ns. Frames carry mac as
// Ethernet source and chaddr.
func newRawDHCPClient(ns *Netns, ifname string, mac net.HardwareAddr) (*rawDHCPClient, error) {
	c := &rawDHCPClient{mac: mac, fd: -1}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("e2e: dhcp client: %w", err)
		}
		c.ifindex = ifi.Index
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
		if err != nil {
			return fmt.Errorf("e2e: dhcp client: socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("e2e: dhcp client: bind %s: %w", ifname, err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close closes the socket.
func (c *rawDHCPClient) Close() error { return unix.Close(c.fd) }

// A dhcpRequest describes one message the client sends.
type dhcpRequest struct {
	Type      layers.DHCPMsgType
	Requested netip.Addr // option 50, when valid
	ServerID  netip.Addr // option 54, when valid
	ClientIP  netip.Addr // ciaddr, when valid
	Params    []layers.DHCPOpt
}

// exchange sends req as a broadcast and returns the first reply with the
// same transaction ID that arrives within timeout, or errNoReply.
func (c *rawDHCPClient) exchange(req dhcpRequest, timeout time.Duration) (*layers.DHCPv4, error) {
	xid := rand.Uint32()
	frame, err := c.frame(req, xid)
	if err != nil {
		return nil, err
	}
	c.drain()
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: c.ifindex, Halen: 6}
	copy(to.Addr[:], layers.EthernetBroadcast)
	if err := unix.Sendto(c.fd, frame, 0, to); err != nil {
		return nil, fmt.Errorf("e2e: dhcp client: send: %w", err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, errNoReply
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("e2e: dhcp client: poll: %w", err)
		}
		if n == 0 {
			continue
		}
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("e2e: dhcp client: recv: %w", err)
		}
		if reply := parseDHCPReply(buf[:m], xid); reply != nil {
			return reply, nil
		}
	}
}

// drain discards frames already queued on the socket, such as late replies
// to an earlier exchange.
func (c *rawDHCPClient) drain() {
	buf := make([]byte, 65536)
	for {
		if _, _, err := unix.Recvfrom(c.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// frame builds the Ethernet frame of req: 0.0.0.0:68 → 255.255.255.255:67.
func (c *rawDHCPClient) frame(req dhcpRequest, xid uint32) ([]byte, error) {
	chaddr := c.mac
	if c.chaddr != nil {
		chaddr = c.chaddr
	}
	d := &layers.DHCPv4{
		Operation:    layers.DHCPOpRequest,
		HardwareType: layers.LinkTypeEthernet,
		HardwareLen:  6,
		Xid:          xid,
		Flags:        0x8000, // broadcast: the VM end has no address yet
		ClientHWAddr: chaddr,
		ClientIP:     net.IPv4zero,
		YourClientIP: net.IPv4zero,
		NextServerIP: net.IPv4zero,
		RelayAgentIP: net.IPv4zero,
	}
	if req.ClientIP.IsValid() {
		d.ClientIP = req.ClientIP.AsSlice()
	}
	d.Options = append(d.Options, layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(req.Type)}))
	if req.Requested.IsValid() {
		d.Options = append(d.Options, layers.NewDHCPOption(layers.DHCPOptRequestIP, req.Requested.AsSlice()))
	}
	if req.ServerID.IsValid() {
		d.Options = append(d.Options, layers.NewDHCPOption(layers.DHCPOptServerID, req.ServerID.AsSlice()))
	}
	params := req.Params
	if params == nil {
		params = []layers.DHCPOpt{layers.DHCPOptSubnetMask, layers.DHCPOptRouter, layers.DHCPOptDNS,
			layers.DHCPOptDomainName, layers.DHCPOptHostname, layers.DHCPOptInterfaceMTU}
	}
	pl := make([]byte, len(params))
	for i, p := range params {
		pl[i] = byte(p)
	}
	d.Options = append(d.Options, layers.NewDHCPOption(layers.DHCPOptParamsRequest, pl))

	eth := &layers.Ethernet{SrcMAC: c.mac, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4zero, DstIP: net.IPv4bcast}
	if req.ClientIP.IsValid() {
		ip.SrcIP = req.ClientIP.AsSlice()
	}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, fmt.Errorf("e2e: dhcp client: %w", err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, d); err != nil {
		return nil, fmt.Errorf("e2e: dhcp client: build frame: %w", err)
	}
	return buf.Bytes(), nil
}

// parseDHCPReply returns the DHCP reply in an Ethernet frame when it is a
// BOOTREPLY to UDP port 68 with transaction ID xid, else nil.
func parseDHCPReply(frame []byte, xid uint32) *layers.DHCPv4 {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok || udp.DstPort != 68 {
		return nil
	}
	d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4)
	if !ok || d.Operation != layers.DHCPOpReply || d.Xid != xid {
		return nil
	}
	return d
}

// dhcpMsgType returns the message type option of d (0 when absent).
func dhcpMsgType(d *layers.DHCPv4) layers.DHCPMsgType {
	if o, ok := dhcpOption(d, layers.DHCPOptMessageType); ok && len(o) == 1 {
		return layers.DHCPMsgType(o[0])
	}
	return 0
}

// dhcpOption returns the data of option t in d.
func dhcpOption(d *layers.DHCPv4, t layers.DHCPOpt) ([]byte, bool) {
	for _, o := range d.Options {
		if o.Type == t {
			return o.Data, true
		}
	}
	return nil, false
}

// yourIP returns yiaddr of d.
func yourIP(d *layers.DHCPv4) netip.Addr {
	a, _ := netip.AddrFromSlice(d.YourClientIP.To4())
	return a
}

// awaitReply repeats req with short timeouts until accept takes a reply,
// and returns that reply and the time from start to its arrival. It fails
// the test when that takes longer than within.
func awaitReply(t testing.TB, c *rawDHCPClient, req dhcpRequest, start time.Time, within time.Duration,
	accept func(*layers.DHCPv4) bool) (*layers.DHCPv4, time.Duration) {
	t.Helper()
	for {
		reply, err := c.exchange(req, 100*time.Millisecond)
		if err != nil && !errors.Is(err, errNoReply) {
			t.Fatalf("%v", err)
		}
		elapsed := time.Since(start)
		if err == nil && accept(reply) {
			return reply, elapsed
		}
		if elapsed > within {
			t.Fatalf("no acceptable reply to %v within %v (last: %v, %v)", req.Type, within, describeReply(reply), err)
		}
	}
}

// awaitSilence repeats req until one gets no reply, checks that the next
// three get none either, and returns the time from start to sending the
// first unanswered one. It fails the test when that takes longer than
// within.
func awaitSilence(t testing.TB, c *rawDHCPClient, req dhcpRequest, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	for {
		sent := time.Since(start)
		reply, err := c.exchange(req, 100*time.Millisecond)
		if errors.Is(err, errNoReply) {
			for range 3 {
				if reply, err := c.exchange(req, 100*time.Millisecond); !errors.Is(err, errNoReply) {
					t.Fatalf("%v answered again after a silence: %v, %v", req.Type, describeReply(reply), err)
				}
			}
			return sent
		}
		if err != nil {
			t.Fatalf("%v", err)
		}
		if time.Since(start) > within {
			t.Fatalf("%v still answered after %v: %v", req.Type, within, describeReply(reply))
		}
	}
}

// describeReply summarises a reply for failure messages.
func describeReply(d *layers.DHCPv4) string {
	if d == nil {
		return "none"
	}
	return fmt.Sprintf("%v yiaddr %v", dhcpMsgType(d), d.YourClientIP)
}

// sawRequest reports whether a DHCP request from a client with hardware
// address chaddr is queued on, or arrives within timeout at, the client's
// socket: a passive check of what another VM's request reached.
func (c *rawDHCPClient) sawRequest(chaddr net.HardwareAddr, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil || n == 0 {
			continue
		}
		m, _, err := unix.Recvfrom(c.fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		p := gopacket.NewPacket(buf[:m], layers.LayerTypeEthernet, gopacket.Default)
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok || udp.DstPort != 67 {
			continue
		}
		if d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && d.ClientHWAddr.String() == chaddr.String() {
			return true
		}
	}
}
