package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The packet generator: DORA exchanges written straight onto each client
// VM's eth0 through a packet socket, as a booting VM's DHCP client sends
// them (broadcast from 0.0.0.0:68, no relay), and the replies read off
// the same socket. perfdhcp polls: each instance burns about a fifth of a
// core even at 100 exchanges/s, so on a small host a few of them take the
// CPU the server needs. The generator sleeps between 1 ms ticks and costs
// a few system calls per exchange, so the server, not the client, runs
// out first. Its figures are checked against perfdhcp's at low rates
// (see docs/performance.md).

// genTick is the generator's pacing step.
const genTick = time.Millisecond

// A genClient drives one client VM's exchanges.
type genClient struct {
	c     client
	fd    int
	file  *os.File // fd, registered with the runtime's poller
	mac   net.HardwareAddr
	index uint32

	mu    sync.Mutex
	xchg  []exchange // by sequence number, the xid's low 24 bits
	stats perfResult
}

// exchange is the progress of one DORA exchange.
type exchange struct {
	discover, offer, request, ack time.Time
}

// openClientSocket opens a packet socket on eth0 of namespace ns that
// sees IPv4 frames coming in, not its own going out.
func openClientSocket(ns string) (int, int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return -1, 0, err
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		return -1, 0, err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return -1, 0, err
	}
	defer netns.Set(orig)
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return -1, 0, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return -1, 0, err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	for _, o := range []struct{ level, opt, v int }{
		{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8 << 20},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return -1, 0, err
		}
	}
	// Non-blocking, for the runtime's poller: a goroutine blocked in a
	// system call would make the runtime hand its thread over, a wake-up
	// per reply.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, ifi.Index, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// runGenerator runs r on every client VM at once, each at its share of
// the rate, and reports as perfdhcp would.
func runGenerator(ctx context.Context, t *topology, r perfRun) (perfResult, string, error) {
	var clients []*genClient
	defer func() {
		for _, g := range clients {
			g.file.Close()
		}
	}()
	for i, c := range t.clients {
		fd, _, err := openClientSocket(c.ns)
		if err != nil {
			return perfResult{}, "", fmt.Errorf("dhcpload: generator on %s: %w", c.ns, err)
		}
		mac, _ := net.ParseMAC(c.mac)
		clients = append(clients, &genClient{c: c, fd: fd, file: os.NewFile(uintptr(fd), c.ns), mac: mac, index: uint32(i)})
	}
	var wg sync.WaitGroup
	for i, g := range clients {
		rate := r.Rate / len(clients)
		if i < r.Rate%len(clients) {
			rate++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.run(ctx, rate, time.Duration(r.Seconds)*time.Second, r.DiscoverOnly)
		}()
	}
	wg.Wait()
	var sum perfResult
	for _, g := range clients {
		if st, err := unix.GetsockoptTpacketStats(g.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			sum.SocketDrops += int(st.Drops)
		}
		sum.Discover = addStats(sum.Discover, g.stats.Discover)
		sum.Request = addStats(sum.Request, g.stats.Request)
		sum.ACKs = append(sum.ACKs, g.stats.Request.Received)
	}
	sum.Rate = float64(sum.Request.Received) / float64(max(r.Seconds, 1))
	return sum, fmt.Sprintf("generator: %+v", sum), nil
}

// run sends DISCOVERs at rate for d, answers every OFFER with a REQUEST,
// waits 200 ms for late replies (as perfdhcp -W 200000) and fills
// g.stats.
func (g *genClient) run(ctx context.Context, rate int, d time.Duration, discoverOnly bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.receive(discoverOnly)
	}()
	start := time.Now()
	ticker := time.NewTicker(genTick)
	out := newFrameBatch()
	sent := 0
	for now := start; now.Sub(start) < d && ctx.Err() == nil; now = <-ticker.C {
		due := int(float64(rate) * now.Sub(start).Seconds())
		for sent < due {
			// The DISCOVERs due this tick leave with one system call.
			g.mu.Lock()
			for ; sent < due && !out.full(); sent++ {
				seq := uint32(len(g.xchg))
				g.xchg = append(g.xchg, exchange{discover: now})
				out.add(func(b []byte) []byte { return appendDHCPRequestFrame(b, g.mac, g.xid(seq), dhcpDiscover, nil, nil) })
			}
			g.mu.Unlock()
			if unsent := out.send(g.fd); unsent > 0 {
				// Refused by the socket: not sent, so not counted as
				// sent (the trial then fails as the client's, not the
				// server's).
				g.mu.Lock()
				for i := len(g.xchg) - unsent; i < len(g.xchg); i++ {
					g.xchg[i].discover = time.Time{}
				}
				g.mu.Unlock()
			}
		}
	}
	ticker.Stop()
	time.Sleep(200 * time.Millisecond)
	g.file.SetReadDeadline(time.Unix(1, 0)) // ends receive
	<-done
	g.mu.Lock()
	defer g.mu.Unlock()
	var offers, acks []time.Duration
	for _, x := range g.xchg {
		if x.discover.IsZero() {
			continue
		}
		g.stats.Discover.Sent++
		if !x.offer.IsZero() {
			offers = append(offers, x.offer.Sub(x.discover))
		}
		if !x.request.IsZero() {
			g.stats.Request.Sent++
		}
		if !x.ack.IsZero() {
			acks = append(acks, x.ack.Sub(x.request))
		}
	}
	g.stats.Discover.Received, g.stats.Request.Received = len(offers), len(acks)
	g.stats.Discover.Drops = g.stats.Discover.Sent - len(offers)
	g.stats.Request.Drops = g.stats.Request.Sent - len(acks)
	g.stats.Discover.AvgMS, g.stats.Discover.MaxMS = delayStats(offers)
	g.stats.Request.AvgMS, g.stats.Request.MaxMS = delayStats(acks)
}

func delayStats(ds []time.Duration) (avg, most float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	var sum time.Duration
	var m time.Duration
	for _, d := range ds {
		sum += d
		m = max(m, d)
	}
	return float64(sum) / float64(len(ds)) / 1e6, float64(m) / 1e6
}

// xid gives every exchange its own transaction ID: the client's index,
// then the sequence number.
func (g *genClient) xid(seq uint32) uint32 { return g.index<<24 | seq&0xffffff }

// frameBatchSize is how many frames one sendmmsg or recvmmsg moves at
// most: a system call costs several microseconds on a small guest, as
// much as the rest of an exchange.
const frameBatchSize = 64

// A frameBatch is a set of frame buffers and the headers that pass them
// to sendmmsg or recvmmsg.
type frameBatch struct {
	bufs [frameBatchSize][]byte
	iovs [frameBatchSize]unix.Iovec
	msgs [frameBatchSize]unix.Mmsghdr
	n    int
}

func newFrameBatch() *frameBatch {
	b := &frameBatch{}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 0, 2048)
	}
	return b
}

func (b *frameBatch) full() bool { return b.n == frameBatchSize }

// add appends a frame built by build into the next buffer.
func (b *frameBatch) add(build func([]byte) []byte) {
	b.bufs[b.n] = build(b.bufs[b.n][:0])
	b.n++
}

func (b *frameBatch) headers(n int, full bool) []unix.Mmsghdr {
	for i := range n {
		buf := b.bufs[i]
		if full {
			buf = buf[:cap(buf)]
		}
		b.iovs[i].Base = &buf[0]
		b.iovs[i].SetLen(len(buf))
		b.msgs[i] = unix.Mmsghdr{}
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
	}
	return b.msgs[:n]
}

// send writes the batch's frames onto the socket's interface, empties it
// and returns how many frames the socket refused (the last ones).
func (b *frameBatch) send(fd int) int {
	if b.n == 0 {
		return 0
	}
	msgs := b.headers(b.n, false)
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	unsent := b.n - int(n)
	if errno != 0 {
		unsent = b.n
	}
	b.n = 0
	return unsent
}

// receive reads replies until the file's read deadline passes and moves
// the exchanges on.
func (g *genClient) receive(discoverOnly bool) {
	rc, err := g.file.SyscallConn()
	if err != nil {
		return
	}
	in, out := newFrameBatch(), newFrameBatch()
	var requested []uint32 // the exchanges of out's REQUESTs, in order
	for {
		msgs := in.headers(frameBatchSize, true)
		var n uintptr
		// Parked in the poller until a frame arrives, then takes all
		// that are waiting.
		err := rc.Read(func(fd uintptr) bool {
			var errno syscall.Errno
			n, _, errno = unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
			if errno == unix.EAGAIN || errno == unix.EINTR {
				return false
			}
			if errno != 0 {
				n = 0
			}
			return true
		})
		if err != nil {
			return // the deadline: the run is over
		}
		now := time.Now()
		g.mu.Lock()
		for i := range int(n) {
			reply, ok := parseDHCPReply(in.bufs[i][:cap(in.bufs[i])][:msgs[i].Len])
			if !ok || reply.xid>>24 != g.index || int(reply.xid&0xffffff) >= len(g.xchg) {
				continue
			}
			x := &g.xchg[reply.xid&0xffffff]
			switch reply.msgType {
			case dhcpOffer:
				if x.offer.IsZero() {
					x.offer = now
					if !discoverOnly {
						x.request = now
						requested = append(requested, reply.xid&0xffffff)
						out.add(func(b []byte) []byte {
							return appendDHCPRequestFrame(b, g.mac, reply.xid, dhcpRequest, reply.yiaddr, reply.serverID)
						})
					}
				}
			case dhcpAck:
				if x.ack.IsZero() && !x.request.IsZero() {
					x.ack = now
				}
			}
		}
		g.mu.Unlock()
		if unsent := out.send(g.fd); unsent > 0 {
			g.mu.Lock()
			for _, seq := range requested[len(requested)-unsent:] {
				g.xchg[seq].request = time.Time{}
			}
			g.mu.Unlock()
		}
		requested = requested[:0]
	}
}

// DHCP message types (RFC 2132 option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
)

// appendDHCPRequestFrame appends a client's DISCOVER or REQUEST (for
// requested from server) as a complete Ethernet frame: broadcast, from
// 0.0.0.0:68 to 255.255.255.255:67.
func appendDHCPRequestFrame(b []byte, mac net.HardwareAddr, xid uint32, msgType byte, requested, server []byte) []byte {
	// BOOTP fixed part and options.
	var bootp [236]byte
	bootp[0], bootp[1], bootp[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	binary.BigEndian.PutUint32(bootp[4:8], xid)
	copy(bootp[28:34], mac)
	opts := []byte{99, 130, 83, 99, 53, 1, msgType, 61, 7, 1}
	opts = append(opts, mac...)
	opts = append(opts, 55, 4, 1, 3, 6, 15)
	if msgType == dhcpRequest {
		opts = append(append(opts, 50, 4), requested...)
		opts = append(append(opts, 54, 4), server...)
	}
	opts = append(opts, 255)
	payload := len(bootp) + len(opts)
	for payload < 300 { // the BOOTP minimum a real client pads to
		opts = append(opts, 0)
		payload++
	}
	udpLen := 8 + payload
	ipLen := 20 + udpLen

	b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	b = append(b, mac...)
	b = append(b, 0x08, 0x00)
	ip := len(b)
	b = append(b, 0x45, 0, byte(ipLen>>8), byte(ipLen), 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255)
	binary.BigEndian.PutUint16(b[ip+10:], checksum(b[ip:ip+20], 0))
	udp := len(b)
	b = append(b, 0, 68, 0, 67, byte(udpLen>>8), byte(udpLen), 0, 0)
	b = append(b, bootp[:]...)
	b = append(b, opts...)
	// The UDP checksum over the pseudo-header (0.0.0.0, 255.255.255.255,
	// protocol 17, length) and the datagram.
	pseudo := uint32(0xffff) + 0xffff + 17 + uint32(udpLen)
	sum := checksum(b[udp:], pseudo)
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(b[udp+6:], sum)
	return b
}

// checksum is the Internet checksum of b added to initial.
func checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// A dhcpReply is what the generator needs of a server's reply.
type dhcpReply struct {
	xid              uint32
	msgType          byte
	yiaddr, serverID []byte
}

// parseDHCPReply reads a BOOTREPLY to port 68 from an Ethernet frame.
func parseDHCPReply(f []byte) (dhcpReply, bool) {
	var r dhcpReply
	if len(f) < 14+20 || f[12] != 0x08 || f[13] != 0x00 || f[14]>>4 != 4 {
		return r, false
	}
	ihl := int(f[14]&0x0f) * 4
	if f[14+9] != 17 || len(f) < 14+ihl+8+240 {
		return r, false
	}
	udp := f[14+ihl:]
	if binary.BigEndian.Uint16(udp[2:4]) != 68 {
		return r, false
	}
	bootp := udp[8:]
	if bootp[0] != 2 || binary.BigEndian.Uint32(bootp[236:240]) != 0x63825363 {
		return r, false
	}
	r.xid = binary.BigEndian.Uint32(bootp[4:8])
	r.yiaddr = bootp[16:20]
	for o := bootp[240:]; len(o) >= 1 && o[0] != 255; {
		if o[0] == 0 {
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			break
		}
		v := o[2 : 2+int(o[1])]
		switch {
		case o[0] == 53 && len(v) == 1:
			r.msgType = v[0]
		case o[0] == 54 && len(v) == 4:
			r.serverID = v
		}
		o = o[2+int(o[1]):]
	}
	return r, r.msgType != 0 && r.serverID != nil
}
