package packets

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// Option codes of the replies (RFC 2132, RFC 3442, RFC 3046).
const (
	dhcpv4OptSubnetMask     = 1
	dhcpv4OptRouter         = 3
	dhcpv4OptDNS            = 6
	dhcpv4OptHostName       = 12
	dhcpv4OptDomainName     = 15
	dhcpv4OptMTU            = 26
	dhcpv4OptBroadcast      = 28
	dhcpv4OptLeaseTime      = 51
	dhcpv4OptMessageType    = 53
	dhcpv4OptServerID       = 54
	dhcpv4OptMessage        = 56
	dhcpv4OptRenewalTime    = 58
	dhcpv4OptRebindingTime  = 59
	dhcpv4OptClientID       = 61
	dhcpv4OptRelayAgentInfo = 82
	dhcpv4OptClasslessRoute = 121
	dhcpv4OptNTPServers     = 42
	dhcpv4OptTFTPServer     = 66
	dhcpv4OptBootfile       = 67
	dhcpv4OptUserClass      = 77
	dhcpv4OptClientArch     = 93
	dhcpv4OptIPv6Only       = 108
	dhcpv4OptDomainSearch   = 119
	dhcpv4OffSIAddr         = 20
	dhcpv4OffFile           = 108
	// dhcpv4BOOTPMinLen is the length the library pads every message to.
	dhcpv4BOOTPMinLen = 300
	// dhcpv4MaxOptions bounds the options of one reply: the daemon's own
	// and a profile's raw options.
	dhcpv4MaxOptions = 32 + profile.MaxOptions
)

// A dhcpv4ReplyPlan lists the options of one reply, in the order the
// library writes them (ascending codes, relay agent information last), and
// once written, how many bytes each took. A raw option of the lease is
// planned with its index in Extra, the daemon's own with -1.
type dhcpv4ReplyPlan struct {
	codes [dhcpv4MaxOptions]byte
	extra [dhcpv4MaxOptions]int8
	lens  [dhcpv4MaxOptions]int
	n     int
}

// add plans the daemon's own option code, unless a raw option replaces it.
func (p *dhcpv4ReplyPlan) add(code byte, l *DHCPv4Lease) {
	for _, o := range l.Extra {
		if o.Code == code {
			return
		}
	}
	p.insert(code, -1)
}

// insert puts code in its place in the library's order.
func (p *dhcpv4ReplyPlan) insert(code byte, extra int8) {
	i := p.n
	for i > 0 && dhcpv4OptionBefore(code, p.codes[i-1]) {
		p.codes[i], p.extra[i] = p.codes[i-1], p.extra[i-1]
		i--
	}
	p.codes[i], p.extra[i] = code, extra
	p.n++
}

// dhcpv4OptionBefore reports whether option a comes before option b:
// ascending codes, relay agent information last (RFC 3046 §2.1).
func dhcpv4OptionBefore(a, b byte) bool {
	if a == dhcpv4OptRelayAgentInfo || b == dhcpv4OptRelayAgentInfo {
		return b == dhcpv4OptRelayAgentInfo && a != b
	}
	return a < b
}

// drop removes the option with code, if planned, and returns its length in
// the message.
func (p *dhcpv4ReplyPlan) drop(code byte) int {
	for i := 0; i < p.n; i++ {
		if p.codes[i] == code {
			n := p.lens[i]
			copy(p.codes[i:p.n], p.codes[i+1:p.n])
			copy(p.extra[i:p.n], p.extra[i+1:p.n])
			copy(p.lens[i:p.n], p.lens[i+1:p.n])
			p.n--
			return n
		}
	}
	return 0
}

// AppendReply appends to dst the Ethernet frame answering req with a
// message of type typ built from l, and returns the extended slice. The
// bytes are those BuildDHCPv4Reply gives for the same request, and the
// rules the same; it writes them by hand, into dst's spare capacity, so
// that answering allocates nothing. The package's differential test holds
// it to the insomniacslk/dhcp builder byte for byte.
func (r *DHCPv4Request) AppendReply(dst []byte, typ dhcpv4.MessageType, l *DHCPv4Lease) ([]byte, error) {
	if r == nil || l == nil {
		return dst, fmt.Errorf("packets: DHCPv4 reply needs a request and a lease: %w", errInvalidParams)
	}
	if err := l.check(typ); err != nil {
		return dst, err
	}
	if len(r.ClientHWAddr) != 6 {
		return dst, fmt.Errorf("packets: DHCPv4 request hardware address %q is not Ethernet: %w", r.ClientHWAddr, errUnsupported)
	}
	start := len(dst)
	dst = append(dst, make([]byte, v4FrameHeadersLen+dhcpv4OffOptions)...)
	m := dst[start+v4FrameHeadersLen:]
	m[dhcpv4OffOp] = uint8(dhcpv4.OpcodeBootRequest)
	if r.op == uint8(dhcpv4.OpcodeBootRequest) {
		m[dhcpv4OffOp] = uint8(dhcpv4.OpcodeBootReply)
	}
	m[dhcpv4OffHType] = r.hwType
	m[dhcpv4OffHLen] = byte(len(r.ClientHWAddr))
	copy(m[dhcpv4OffXID:], r.xid[:])
	binary.BigEndian.PutUint16(m[dhcpv4OffFlags:], r.flags)
	if typ == dhcpv4.MessageTypeAck {
		// RFC 2131 table 3: an ACK echoes the client's ciaddr.
		ciaddr := r.ClientIP.As4()
		copy(m[dhcpv4OffCIAddr:], ciaddr[:])
	}
	if typ != dhcpv4.MessageTypeNak && r.Type != dhcpv4.MessageTypeInform {
		yiaddr := l.ClientIP.As4()
		copy(m[dhcpv4OffCIAddr+4:], yiaddr[:])
	}
	copy(m[dhcpv4OffGIAddr:], r.giaddr[:])
	copy(m[dhcpv4OffCHAddr:], r.ClientHWAddr)
	if typ != dhcpv4.MessageTypeNak {
		if l.NextServer.Is4() {
			siaddr := l.NextServer.As4()
			copy(m[dhcpv4OffSIAddr:], siaddr[:])
		}
		if len(l.Bootfile) < dhcpv4FileLen {
			copy(m[dhcpv4OffFile:], l.Bootfile)
		}
	}
	copy(m[dhcpv4OffCookie:], dhcpv4Cookie[:])

	// The options are written once; a reply too long for the client loses
	// its least important ones and is written again.
	var plan dhcpv4ReplyPlan
	r.planReply(&plan, typ, l)
	optStart := len(dst)
	dst = r.appendOptions(dst, &plan, typ, l)
	msgLen := len(dst) - start - v4FrameHeadersLen + 1 // and the end option
	if maxLen := r.maxReplyLen(); msgLen > maxLen {
		for i, code := range dhcpv4DroppableOptions {
			if i == dhcpv4RawDropAt {
				for _, o := range l.Extra {
					if msgLen > maxLen {
						msgLen -= plan.drop(o.Code)
					}
				}
			}
			if msgLen <= maxLen {
				break
			}
			msgLen -= plan.drop(code.Code())
		}
		if msgLen > maxLen {
			return dst[:start], fmt.Errorf("packets: DHCPv4 reply of %d bytes exceeds the client's limit of %d: %w", msgLen, maxLen, errInvalidParams)
		}
		dst = r.appendOptions(dst[:optStart], &plan, typ, l)
	}
	dst = append(dst, dhcpv4OptEnd)
	for len(dst)-start-v4FrameHeadersLen < dhcpv4BOOTPMinLen {
		dst = append(dst, dhcpv4OptPad)
	}
	f := v4UDPFrame{
		srcMAC:  l.ServerMAC,
		dstMAC:  r.ClientHWAddr,
		srcIP:   l.ServerIP,
		dstIP:   netip.IPv4Unspecified(),
		srcPort: dhcpv4ServerPort,
		dstPort: dhcpv4ClientPort,
	}
	switch {
	case typ == dhcpv4.MessageTypeNak:
	case !r.ClientIP.IsUnspecified():
		f.dstIP = r.ClientIP
	case r.IsBroadcast():
	case r.Type != dhcpv4.MessageTypeInform:
		f.dstIP = l.ClientIP
	}
	if f.dstIP.IsUnspecified() {
		f.dstIP = netip.AddrFrom4([4]byte{255, 255, 255, 255})
		f.dstMAC = v4BroadcastMAC[:]
	}
	v4FillUDPHeaders(dst[start:], &f)
	return dst, nil
}

// v4BroadcastMAC is the Ethernet broadcast address.
var v4BroadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// planReply lists the options of the reply, as newDHCPv4ReplyMessage
// sets them.
func (r *DHCPv4Request) planReply(p *dhcpv4ReplyPlan, typ dhcpv4.MessageType, l *DHCPv4Lease) {
	if typ == dhcpv4.MessageTypeNak {
		p.insert(dhcpv4OptMessageType, -1)
		p.insert(dhcpv4OptServerID, -1)
		p.insert(dhcpv4OptMessage, -1)
		r.planCopied(p)
		return
	}
	asked := r.askedOptions()
	leased := r.Type != dhcpv4.MessageTypeInform
	p.add(dhcpv4OptSubnetMask, l)
	if l.Router.IsValid() && asked.has(dhcpv4.OptionRouter) {
		p.add(dhcpv4OptRouter, l)
	}
	if asked.has(dhcpv4.OptionDomainNameServer) && slices.ContainsFunc(l.Nameservers, netip.Addr.Is4) {
		p.add(dhcpv4OptDNS, l)
	}
	if l.Hostname != "" && asked.has(dhcpv4.OptionHostName) {
		p.add(dhcpv4OptHostName, l)
	}
	if l.Domain != "" && asked.has(dhcpv4.OptionDomainName) {
		p.add(dhcpv4OptDomainName, l)
	}
	if l.MTU != 0 && asked.has(dhcpv4.OptionInterfaceMTU) {
		p.add(dhcpv4OptMTU, l)
	}
	if asked.has(dhcpv4.OptionBroadcastAddress) && l.Subnet.Bits() <= 30 {
		p.add(dhcpv4OptBroadcast, l)
	}
	if asked.has(dhcpv4.OptionNTPServers) && slices.ContainsFunc(l.NTP, netip.Addr.Is4) {
		p.add(dhcpv4OptNTPServers, l)
	}
	if leased {
		p.add(dhcpv4OptLeaseTime, l)
	}
	p.insert(dhcpv4OptMessageType, -1)
	p.insert(dhcpv4OptServerID, -1)
	if leased && l.RenewalTime > 0 {
		p.insert(dhcpv4OptRenewalTime, -1)
	}
	if leased && l.RebindingTime > 0 {
		p.insert(dhcpv4OptRebindingTime, -1)
	}
	if l.TFTPServer != "" && asked.has(dhcpv4.OptionTFTPServerName) {
		p.add(dhcpv4OptTFTPServer, l)
	}
	if l.Bootfile != "" && asked.has(dhcpv4.OptionBootfileName) {
		p.add(dhcpv4OptBootfile, l)
	}
	if l.IPv6OnlyWait > 0 && r.paramRequestList != nil && asked.has(dhcpv4.OptionIPv6OnlyPreferred) {
		p.add(dhcpv4OptIPv6Only, l)
	}
	if len(l.DomainSearch) > 0 && asked.has(dhcpv4.OptionDNSDomainSearchList) {
		p.add(dhcpv4OptDomainSearch, l)
	}
	if (len(l.Routes) > 0 || l.Router.IsValid() && !l.Subnet.Masked().Contains(l.Router)) && asked.has(dhcpv4.OptionClasslessStaticRoute) {
		p.add(dhcpv4OptClasslessRoute, l)
	}
	for i, o := range l.Extra {
		p.insert(o.Code, int8(i))
	}
	r.planCopied(p)
}

// planCopied adds the options every reply copies from the request.
func (r *DHCPv4Request) planCopied(p *dhcpv4ReplyPlan) {
	if r.clientID != nil {
		p.insert(dhcpv4OptClientID, -1)
	}
	if r.relayAgentInfo != nil {
		p.insert(dhcpv4OptRelayAgentInfo, -1)
	}
}

// askedOptions returns the options the client's parameter request list
// names, or every option when it sent none (RFC 2131 §3.5).
func (r *DHCPv4Request) askedOptions() dhcpv4OptionSet {
	if r.paramRequestList == nil {
		return dhcpv4OptionSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	}
	var s dhcpv4OptionSet
	for _, c := range r.paramRequestList {
		s[c/64] |= 1 << (c % 64)
	}
	return s
}

// appendOptions writes the planned options to b and records their lengths.
func (r *DHCPv4Request) appendOptions(b []byte, p *dhcpv4ReplyPlan, typ dhcpv4.MessageType, l *DHCPv4Lease) []byte {
	for i := 0; i < p.n; i++ {
		before := len(b)
		if x := p.extra[i]; x >= 0 {
			start := len(b)
			b = append(b, p.codes[i], 0)
			b = append(b, l.Extra[x].Data...)
			b = dhcpv4SplitOption(b, start)
		} else {
			b = r.appendOption(b, p.codes[i], typ, l)
		}
		p.lens[i] = len(b) - before
	}
	return b
}

// appendOption writes one option with the value the library gives it.
func (r *DHCPv4Request) appendOption(b []byte, code byte, typ dhcpv4.MessageType, l *DHCPv4Lease) []byte {
	start := len(b)
	b = append(b, code, 0)
	switch code {
	case dhcpv4OptSubnetMask:
		b = binary.BigEndian.AppendUint32(b, v4Mask(l.Subnet.Bits()))
	case dhcpv4OptRouter:
		b = v4AppendAddr(b, l.Router)
	case dhcpv4OptDNS:
		for _, ns := range l.Nameservers {
			if ns.Is4() {
				b = v4AppendAddr(b, ns)
			}
		}
	case dhcpv4OptHostName:
		b = append(b, l.Hostname...)
	case dhcpv4OptDomainName:
		b = append(b, l.Domain...)
	case dhcpv4OptMTU:
		b = binary.BigEndian.AppendUint16(b, uint16(l.MTU))
	case dhcpv4OptBroadcast:
		a := l.Subnet.Masked().Addr().As4()
		b = binary.BigEndian.AppendUint32(b, binary.BigEndian.Uint32(a[:])|^v4Mask(l.Subnet.Bits()))
	case dhcpv4OptLeaseTime:
		b = dhcpv4AppendSeconds(b, l.LeaseTime)
	case dhcpv4OptMessageType:
		b = append(b, byte(typ))
	case dhcpv4OptServerID:
		b = v4AppendAddr(b, l.ServerIP)
	case dhcpv4OptMessage:
		b = append(b, dhcpv4NAKMessage...)
	case dhcpv4OptRenewalTime:
		b = dhcpv4AppendSeconds(b, l.RenewalTime)
	case dhcpv4OptRebindingTime:
		b = dhcpv4AppendSeconds(b, l.RebindingTime)
	case dhcpv4OptClientID:
		b = append(b, r.clientID...)
	case dhcpv4OptClasslessRoute:
		// RFC 3442: a client that understands option 121 ignores option
		// 3, so the routes repeat the default route: a host route to an
		// off-link router first, the profile's routes, then the default
		// route through the router.
		if l.Router.IsValid() && !l.Subnet.Masked().Contains(l.Router) {
			b = append(b, 32)
			b = v4AppendAddr(b, l.Router)
			b = append(b, 0, 0, 0, 0)
		}
		hasDefault := false
		for _, rt := range l.Routes {
			hasDefault = hasDefault || rt.Dest.Bits() == 0
			b = v4AppendRoute(b, rt.Dest, rt.Via)
		}
		if l.Router.IsValid() && !hasDefault {
			b = append(b, 0)
			b = v4AppendAddr(b, l.Router)
		}
	case dhcpv4OptNTPServers:
		for _, a := range l.NTP {
			if a.Is4() {
				b = v4AppendAddr(b, a)
			}
		}
	case dhcpv4OptTFTPServer:
		b = append(b, l.TFTPServer...)
	case dhcpv4OptBootfile:
		b = append(b, l.Bootfile...)
	case dhcpv4OptIPv6Only:
		b = dhcpv4AppendSeconds(b, l.IPv6OnlyWait)
	case dhcpv4OptDomainSearch:
		b = append(b, l.DomainSearch...)
	case dhcpv4OptRelayAgentInfo:
		b = append(b, r.relayAgentInfo...)
	}
	return dhcpv4SplitOption(b, start)
}

// dhcpv4SplitOption sets the length of the option written at b[start:]
// (code, a length byte, then its whole value) and splits a value longer
// than 255 bytes into consecutive instances of the option (RFC 3396).
func dhcpv4SplitOption(b []byte, start int) []byte {
	code := b[start]
	n := len(b) - start - 2
	if n <= 255 {
		b[start+1] = byte(n)
		return b
	}
	// Make room for the headers of the extra instances, then move the
	// chunks into place from the last one down.
	parts := (n + 254) / 255
	b = append(b, make([]byte, 2*(parts-1))...)
	for i := parts - 1; i >= 0; i-- {
		from := start + 2 + 255*i
		size := min(255, n-255*i)
		to := start + 257*i
		copy(b[to+2:to+2+size], b[from:from+size])
		b[to], b[to+1] = code, byte(size)
	}
	return b
}

// v4Mask returns the IPv4 netmask of a prefix length, as net.CIDRMask
// does without allocating.
func v4Mask(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - min(bits, 32))
}

// v4AppendRoute appends one route of option 121: the prefix length, the
// significant octets of the destination, the router (RFC 3442).
func v4AppendRoute(b []byte, dest netip.Prefix, via netip.Addr) []byte {
	bits := dest.Bits()
	d := dest.Addr().As4()
	b = append(b, byte(bits))
	b = append(b, d[:(bits+7)/8]...)
	return v4AppendAddr(b, via)
}

func v4AppendAddr(b []byte, a netip.Addr) []byte {
	a4 := a.As4()
	return append(b, a4[:]...)
}

func dhcpv4AppendSeconds(b []byte, d time.Duration) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(dhcpv4Seconds(d)/time.Second))
}

// maxReplyLen is dhcpv4MaxReplyLen for a parsed request.
func (r *DHCPv4Request) maxReplyLen() int {
	size := dhcpv4MinMaxMessageSize
	if n := int(r.maxMessageSize); n > size {
		size = min(n, dhcpv4MaxMessageSizeCap)
	}
	return size - dhcpv4IPUDPOverhead
}

// v4FillUDPHeaders writes the Ethernet, IPv4 and UDP headers of frame,
// whose first v4FrameHeadersLen bytes are reserved for them and whose UDP
// payload follows, as appendV4UDPFrame writes them. A DHCP message of at
// least 300 bytes never needs the Ethernet padding appendV4UDPFrame adds.
func v4FillUDPHeaders(frame []byte, f *v4UDPFrame) {
	copy(frame[0:6], f.dstMAC)
	copy(frame[6:12], f.srcMAC)
	binary.BigEndian.PutUint16(frame[12:14], v4EtherTypeIPv4)
	ip := frame[v4EthernetHeaderLen:]
	ipLen := len(ip)
	src, dstIP := f.srcIP.As4(), f.dstIP.As4()
	copy(ip[:12], []byte{
		0x45, 0, // version 4, IHL 5; TOS 0
		byte(ipLen >> 8), byte(ipLen),
		0, 0, // identification: never fragmented
		0, 0, // no flags, offset 0
		v4DefaultTTL, v4ProtocolUDP,
		0, 0, // header checksum, filled below
	})
	copy(ip[12:16], src[:])
	copy(ip[16:20], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], v4FoldChecksum(v4SumWords(0, ip[:v4HeaderMinLen])))

	udp := ip[v4HeaderMinLen:]
	udpLen := len(udp)
	binary.BigEndian.PutUint16(udp[0:], f.srcPort)
	binary.BigEndian.PutUint16(udp[2:], f.dstPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	binary.BigEndian.PutUint16(udp[6:], 0)
	sum := v4SumWords(0, src[:])
	sum = v4SumWords(sum, dstIP[:])
	sum += v4ProtocolUDP + uint32(udpLen)
	sum = v4SumWords(sum, udp)
	csum := v4FoldChecksum(sum)
	if csum == 0 {
		// Zero means "no checksum" in UDP over IPv4 (RFC 768).
		csum = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], csum)
}
