package packets

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// A DHCPv4Lease holds everything a DHCPv4 reply says to the client. The
// caller decides policy (which server identifier, whether there is a router,
// how HOSTNAME splits into host and domain); the builder only encodes it.
type DHCPv4Lease struct {
	// ServerMAC is the source MAC of the reply frame (INDEV's MAC).
	ServerMAC net.HardwareAddr
	// ServerIP is the server identifier (option 54) and the IPv4 source of
	// the reply.
	ServerIP netip.Addr
	// ClientIP is the address handed out (yiaddr of OFFER and ACK).
	ClientIP netip.Addr
	// Subnet is the client's network: subnet mask and broadcast address.
	Subnet netip.Prefix
	// Router is the default router (option 3); invalid means none, as for
	// a PRIVATE network. A router outside Subnet (as with /32 addressing)
	// is also sent as classless static routes (option 121): a host route to
	// it on the link, then the default route through it.
	Router netip.Addr
	// Nameservers are the DNS servers (option 6); non-IPv4 entries are
	// skipped.
	Nameservers []netip.Addr
	// Domain is the domain name (option 15), empty for none.
	Domain string
	// Hostname is the host name (option 12) sent verbatim, empty for none.
	Hostname string
	// MTU is the interface MTU (option 26); 0 means not sent.
	MTU int
	// LeaseTime, RenewalTime (T1) and RebindingTime (T2) are options 51, 58
	// and 59; zero T1 or T2 are not sent. Durations are sent in whole
	// seconds, capped at the protocol's "infinite" 0xffffffff.
	LeaseTime, RenewalTime, RebindingTime time.Duration

	// NTP are the NTP servers (option 42); non-IPv4 entries are skipped.
	NTP []netip.Addr
	// DomainSearch is the domain search list (option 119) encoded, as
	// profile.EncodeSearch does; empty for none.
	DomainSearch []byte
	// Routes are classless static routes (option 121). When there are
	// some, the default route through Router follows them (RFC 3442 makes
	// clients ignore option 3 when option 121 is present), unless Router is
	// invalid or Routes holds a default route of its own.
	Routes []profile.Route
	// NextServer is siaddr, the server of the next boot stage; invalid for
	// none.
	NextServer netip.Addr
	// TFTPServer is option 66 and Bootfile option 67, empty for none. The
	// boot file also goes into the BOOTP file field when it fits there.
	TFTPServer, Bootfile string
	// IPv6OnlyWait is option 108 (RFC 8925), sent only to clients whose
	// parameter request list names it; 0 for none.
	IPv6OnlyWait time.Duration
	// Extra are raw options sent as given, whether asked for or not. One
	// replaces the option of the same code the lease would otherwise
	// carry. Codes profile.OwnedOption refuses must not appear.
	Extra []profile.Option
}

// dhcpv4NAKMessage is the text of option 56 in a NAK, for the client's log.
const dhcpv4NAKMessage = "requested address is not yours"

// The IP datagram size a client must always accept (RFC 2131 §2, RFC 2132
// §9.10) and the IPv4 and UDP headers inside it.
const (
	dhcpv4MinMaxMessageSize = 576
	dhcpv4IPUDPOverhead     = v4HeaderMinLen + v4UDPHeaderLen
	// dhcpv4MaxMessageSizeCap caps a client's maximum message size at what
	// fits a standard Ethernet MTU.
	dhcpv4MaxMessageSizeCap = 1500
)

// dhcpv4DroppableOptions lists the options a reply may lose to fit the
// client's maximum message size, least important first. Message type,
// server identifier, lease time, subnet mask, NAK message and the options
// copied from the request are never dropped.
var dhcpv4DroppableOptions = [...]dhcpv4.OptionCode{
	dhcpv4.OptionHostName,
	dhcpv4.OptionDomainName,
	dhcpv4.OptionBroadcastAddress,
	dhcpv4.OptionDNSDomainSearchList,
	dhcpv4.OptionNTPServers,
	// Then the raw options in their order (dhcpv4DropOrder), then:
	dhcpv4.OptionRebindingTimeValue,
	dhcpv4.OptionRenewTimeValue,
	dhcpv4.OptionInterfaceMTU,
	dhcpv4.OptionDomainNameServer,
	dhcpv4.OptionClasslessStaticRoute,
	dhcpv4.OptionRouter,
}

// dhcpv4RawDropAt is the position in dhcpv4DroppableOptions before which a
// lease's raw options are dropped.
const dhcpv4RawDropAt = 5

// dhcpv4DropOrder calls drop with the code of each option a reply of l
// may lose, least important first, until drop returns false.
func dhcpv4DropOrder(l *DHCPv4Lease, drop func(code byte) bool) {
	for i, code := range dhcpv4DroppableOptions {
		if i == dhcpv4RawDropAt {
			for _, o := range l.Extra {
				if !drop(o.Code) {
					return
				}
			}
		}
		if !drop(code.Code()) {
			return
		}
	}
}

// BuildDHCPv4Reply returns the Ethernet frame answering req with a message
// of type typ (OFFER, ACK or NAK) built from l. An ACK to an INFORM carries
// the configuration but no address and no lease times (RFC 2131 §3.4).
//
// Addressing follows RFC 2131 §4.1 for a server on the client's link: a NAK
// is broadcast; a reply to a client that has an address (ciaddr) is unicast
// to it; a client that set the broadcast flag gets a broadcast; any other
// gets a unicast to the offered address at its hardware address.
func BuildDHCPv4Reply(req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, l *DHCPv4Lease) ([]byte, error) {
	return AppendDHCPv4Reply(nil, req, typ, l)
}

// AppendDHCPv4Reply is BuildDHCPv4Reply appending the frame to dst, so that
// a caller can reuse one buffer for every reply. It is written by
// DHCPv4Request.AppendReply; the hot path parses with ParseDHCPv4 and calls
// that directly, without the library's message.
func AppendDHCPv4Reply(dst []byte, req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, l *DHCPv4Lease) ([]byte, error) {
	if req == nil {
		return dst, fmt.Errorf("packets: DHCPv4 reply needs a request and a lease: %w", errInvalidParams)
	}
	return dhcpv4RequestFromMessage(req).AppendReply(dst, typ, l)
}

// appendDHCPv4ReplyLibrary builds the frame AppendDHCPv4Reply appends with
// insomniacslk/dhcp's message builder: the reference the hand-written
// DHCPv4Request.AppendReply is proven against.
func appendDHCPv4ReplyLibrary(dst []byte, req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, l *DHCPv4Lease) ([]byte, error) {
	if req == nil || l == nil {
		return dst, fmt.Errorf("packets: DHCPv4 reply needs a request and a lease: %w", errInvalidParams)
	}
	if err := l.check(typ); err != nil {
		return dst, err
	}
	if len(req.ClientHWAddr) != 6 {
		return dst, fmt.Errorf("packets: DHCPv4 request hardware address %q is not Ethernet: %w", req.ClientHWAddr, errUnsupported)
	}
	msg, err := newDHCPv4ReplyMessage(req, typ, l)
	if err != nil {
		return dst, err
	}
	payload, err := dhcpv4FitMessage(msg, l, dhcpv4MaxReplyLen(req))
	if err != nil {
		return dst, err
	}
	f := v4UDPFrame{
		srcMAC:  l.ServerMAC,
		dstMAC:  req.ClientHWAddr,
		srcIP:   l.ServerIP,
		dstIP:   netip.IPv4Unspecified(),
		srcPort: dhcpv4ServerPort,
		dstPort: dhcpv4ClientPort,
	}
	ciaddr, _ := netip.AddrFromSlice(req.ClientIPAddr.To4())
	switch {
	case typ == dhcpv4.MessageTypeNak:
	case ciaddr.IsValid() && !ciaddr.IsUnspecified():
		f.dstIP = ciaddr
	case req.IsBroadcast():
	case req.MessageType() != dhcpv4.MessageTypeInform:
		f.dstIP = l.ClientIP
	}
	if f.dstIP.IsUnspecified() {
		f.dstIP = netip.AddrFrom4([4]byte{255, 255, 255, 255})
		f.dstMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	return appendV4UDPFrame(dst, &f, payload), nil
}

// check reports whether l can produce a reply of type typ.
func (l *DHCPv4Lease) check(typ dhcpv4.MessageType) error {
	switch typ {
	case dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak:
	default:
		return fmt.Errorf("packets: cannot build a DHCPv4 %s reply: %w", typ, errInvalidParams)
	}
	if len(l.ServerMAC) != 6 {
		return fmt.Errorf("packets: DHCPv4 server MAC %q is not Ethernet: %w", l.ServerMAC, errInvalidParams)
	}
	if !l.ServerIP.Is4() {
		return fmt.Errorf("packets: DHCPv4 server address %s is not IPv4: %w", l.ServerIP, errInvalidParams)
	}
	if typ == dhcpv4.MessageTypeNak {
		return nil
	}
	if !l.ClientIP.Is4() {
		return fmt.Errorf("packets: DHCPv4 client address %s is not IPv4: %w", l.ClientIP, errInvalidParams)
	}
	if !l.Subnet.Addr().Is4() {
		return fmt.Errorf("packets: DHCPv4 subnet %s is not IPv4: %w", l.Subnet, errInvalidParams)
	}
	if l.Router.IsValid() && !l.Router.Is4() {
		return fmt.Errorf("packets: DHCPv4 router %s is not IPv4: %w", l.Router, errInvalidParams)
	}
	if l.LeaseTime <= 0 {
		return fmt.Errorf("packets: DHCPv4 lease time %s is not positive: %w", l.LeaseTime, errInvalidParams)
	}
	if l.MTU != 0 && (l.MTU < 68 || l.MTU > math.MaxUint16) {
		return fmt.Errorf("packets: DHCPv4 MTU %d is outside 68..65535: %w", l.MTU, errInvalidParams)
	}
	if l.NextServer.IsValid() && !l.NextServer.Is4() {
		return fmt.Errorf("packets: DHCPv4 next server %s is not IPv4: %w", l.NextServer, errInvalidParams)
	}
	for _, r := range l.Routes {
		if !r.Dest.Addr().Is4() || !r.Via.Is4() {
			return fmt.Errorf("packets: DHCPv4 route %s via %s is not IPv4: %w", r.Dest, r.Via, errInvalidParams)
		}
	}
	if len(l.Extra) > profile.MaxOptions {
		return fmt.Errorf("packets: %d raw DHCPv4 options, more than %d: %w", len(l.Extra), profile.MaxOptions, errInvalidParams)
	}
	for i, o := range l.Extra {
		if profile.OwnedOption(o.Code) {
			return fmt.Errorf("packets: raw DHCPv4 option %d is the daemon's own: %w", o.Code, errInvalidParams)
		}
		for _, prev := range l.Extra[:i] {
			if prev.Code == o.Code {
				return fmt.Errorf("packets: raw DHCPv4 option %d given twice: %w", o.Code, errInvalidParams)
			}
		}
	}
	return nil
}

// newDHCPv4ReplyMessage builds the DHCP message of the reply, with the
// options the client asked for (all of them when it sent no parameter
// request list, RFC 2131 §3.5) plus those a reply of its type must carry.
func newDHCPv4ReplyMessage(req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, l *DHCPv4Lease) (*dhcpv4.DHCPv4, error) {
	serverID := net.IP(l.ServerIP.AsSlice())
	msg, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverID)),
	)
	if err != nil {
		return nil, fmt.Errorf("packets: DHCPv4 reply to %s: %w", req.TransactionID, err)
	}
	if typ == dhcpv4.MessageTypeNak {
		msg.UpdateOption(dhcpv4.OptMessage(dhcpv4NAKMessage))
		return msg, nil
	}
	asked := dhcpv4RequestedOptions(req)
	if req.MessageType() != dhcpv4.MessageTypeInform {
		msg.YourIPAddr = net.IP(l.ClientIP.AsSlice())
		msg.UpdateOption(dhcpv4.OptIPAddressLeaseTime(dhcpv4Seconds(l.LeaseTime)))
		if l.RenewalTime > 0 {
			msg.UpdateOption(dhcpv4.OptRenewTimeValue(dhcpv4Seconds(l.RenewalTime)))
		}
		if l.RebindingTime > 0 {
			msg.UpdateOption(dhcpv4.OptRebindingTimeValue(dhcpv4Seconds(l.RebindingTime)))
		}
	}
	if typ == dhcpv4.MessageTypeAck {
		// RFC 2131 table 3: an ACK echoes the client's ciaddr.
		msg.ClientIPAddr = req.ClientIPAddr
	}

	mask := net.CIDRMask(l.Subnet.Bits(), 32)
	msg.UpdateOption(dhcpv4.OptSubnetMask(mask))
	if asked.has(dhcpv4.OptionBroadcastAddress) && l.Subnet.Bits() <= 30 {
		msg.UpdateOption(dhcpv4.OptBroadcastAddress(v4Broadcast(l.Subnet)))
	}
	if l.Router.IsValid() {
		router := net.IP(l.Router.AsSlice())
		if asked.has(dhcpv4.OptionRouter) {
			msg.UpdateOption(dhcpv4.OptRouter(router))
		}
		// RFC 3442: a client that understands option 121 ignores option
		// 3, so the routes repeat the default route.
		if !l.Subnet.Masked().Contains(l.Router) && asked.has(dhcpv4.OptionClasslessStaticRoute) {
			msg.UpdateOption(dhcpv4.OptClasslessStaticRoute(
				&dhcpv4.Route{Dest: &net.IPNet{IP: router, Mask: net.CIDRMask(32, 32)}, Router: net.IPv4zero},
				&dhcpv4.Route{Dest: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Router: router},
			))
		}
	}
	if asked.has(dhcpv4.OptionDomainNameServer) {
		var dns []net.IP
		for _, ns := range l.Nameservers {
			if ns.Is4() {
				dns = append(dns, net.IP(ns.AsSlice()))
			}
		}
		if len(dns) > 0 {
			msg.UpdateOption(dhcpv4.OptDNS(dns...))
		}
	}
	if l.Domain != "" && asked.has(dhcpv4.OptionDomainName) {
		msg.UpdateOption(dhcpv4.OptDomainName(l.Domain))
	}
	if l.Hostname != "" && asked.has(dhcpv4.OptionHostName) {
		msg.UpdateOption(dhcpv4.OptHostName(l.Hostname))
	}
	if l.MTU != 0 && asked.has(dhcpv4.OptionInterfaceMTU) {
		msg.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, []byte{byte(l.MTU >> 8), byte(l.MTU)}))
	}
	if asked.has(dhcpv4.OptionNTPServers) {
		var ntp []net.IP
		for _, a := range l.NTP {
			if a.Is4() {
				ntp = append(ntp, net.IP(a.AsSlice()))
			}
		}
		if len(ntp) > 0 {
			msg.UpdateOption(dhcpv4.OptNTPServers(ntp...))
		}
	}
	if len(l.DomainSearch) > 0 && asked.has(dhcpv4.OptionDNSDomainSearchList) {
		// The library writes labels without compression; given the bytes
		// it parsed, it writes those back.
		labels, err := rfc1035label.FromBytes(l.DomainSearch)
		if err != nil {
			return nil, fmt.Errorf("packets: DHCPv4 domain search list % x: %w", l.DomainSearch, errInvalidParams)
		}
		msg.UpdateOption(dhcpv4.OptDomainSearch(labels))
	}
	if len(l.Routes) > 0 && asked.has(dhcpv4.OptionClasslessStaticRoute) {
		var routes []*dhcpv4.Route
		if l.Router.IsValid() && !l.Subnet.Masked().Contains(l.Router) {
			routes = append(routes, &dhcpv4.Route{Dest: &net.IPNet{IP: net.IP(l.Router.AsSlice()), Mask: net.CIDRMask(32, 32)}, Router: net.IPv4zero})
		}
		hasDefault := false
		for _, r := range l.Routes {
			hasDefault = hasDefault || r.Dest.Bits() == 0
			routes = append(routes, &dhcpv4.Route{
				Dest:   &net.IPNet{IP: net.IP(r.Dest.Addr().AsSlice()), Mask: net.CIDRMask(r.Dest.Bits(), 32)},
				Router: net.IP(r.Via.AsSlice()),
			})
		}
		if l.Router.IsValid() && !hasDefault {
			routes = append(routes, &dhcpv4.Route{Dest: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Router: net.IP(l.Router.AsSlice())})
		}
		msg.UpdateOption(dhcpv4.OptClasslessStaticRoute(routes...))
	}
	if l.NextServer.Is4() {
		msg.ServerIPAddr = net.IP(l.NextServer.AsSlice())
	}
	if l.TFTPServer != "" && asked.has(dhcpv4.OptionTFTPServerName) {
		msg.UpdateOption(dhcpv4.OptTFTPServerName(l.TFTPServer))
	}
	if l.Bootfile != "" {
		if len(l.Bootfile) < dhcpv4FileLen {
			msg.BootFileName = l.Bootfile
		}
		if asked.has(dhcpv4.OptionBootfileName) {
			msg.UpdateOption(dhcpv4.OptBootFileName(l.Bootfile))
		}
	}
	if l.IPv6OnlyWait > 0 && dhcpv4ExplicitlyRequested(req, dhcpv4.OptionIPv6OnlyPreferred) {
		msg.UpdateOption(dhcpv4.OptIPv6OnlyPreferred(dhcpv4Seconds(l.IPv6OnlyWait)))
	}
	for _, o := range l.Extra {
		msg.UpdateOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(o.Code), o.Data))
	}
	return msg, nil
}

// dhcpv4FileLen is the size of the BOOTP file field; the name must leave
// room for its terminating NUL.
const dhcpv4FileLen = 128

// dhcpv4ExplicitlyRequested reports whether the client's parameter request
// list names code: for options a server must not send unasked even to a
// client that sent no list (RFC 8925 §3.3).
func dhcpv4ExplicitlyRequested(req *dhcpv4.DHCPv4, code dhcpv4.OptionCode) bool {
	prl := req.Options.Get(dhcpv4.OptionParameterRequestList)
	return prl != nil && slices.Contains(prl, code.Code())
}

// dhcpv4MaxReplyLen returns the longest DHCP message (UDP payload) the
// client accepts: its maximum message size option (an IP datagram size,
// RFC 2132 §9.10) when valid, else 576, less the IP and UDP headers.
func dhcpv4MaxReplyLen(req *dhcpv4.DHCPv4) int {
	size := dhcpv4MinMaxMessageSize
	if n, err := req.MaxMessageSize(); err == nil && int(n) > size {
		size = min(int(n), dhcpv4MaxMessageSizeCap)
	}
	return size - dhcpv4IPUDPOverhead
}

// dhcpv4FitMessage serialises msg, dropping its least important options
// until it fits maxLen bytes.
func dhcpv4FitMessage(msg *dhcpv4.DHCPv4, l *DHCPv4Lease, maxLen int) ([]byte, error) {
	b := msg.ToBytes()
	dhcpv4DropOrder(l, func(code byte) bool {
		if len(b) <= maxLen {
			return false
		}
		if c := dhcpv4.GenericOptionCode(code); msg.Options.Has(c) {
			msg.Options.Del(c)
			b = msg.ToBytes()
		}
		return true
	})
	if len(b) > maxLen {
		return nil, fmt.Errorf("packets: DHCPv4 reply of %d bytes exceeds the client's limit of %d: %w", len(b), maxLen, errInvalidParams)
	}
	return b, nil
}

// dhcpv4Seconds rounds d down to whole seconds and caps it at the largest
// value the 32-bit options hold, which RFC 2132 reads as infinity.
func dhcpv4Seconds(d time.Duration) time.Duration {
	return min(d, dhcpv4.MaxLeaseTime).Truncate(time.Second)
}

// v4Broadcast returns the directed broadcast address of p.
func v4Broadcast(p netip.Prefix) net.IP {
	a := p.Masked().Addr().As4()
	for i := range a {
		bits := min(max(p.Bits()-8*i, 0), 8)
		a[i] |= byte(0xff >> bits)
	}
	return net.IP(a[:])
}

// A dhcpv4OptionSet is a set of option codes.
type dhcpv4OptionSet [4]uint64

// dhcpv4RequestedOptions returns the options the client's parameter request
// list names, or every option when it sent none (RFC 2131 §3.5). It reads
// the list once, where the library's IsOptionRequested parses it again on
// every call.
func dhcpv4RequestedOptions(req *dhcpv4.DHCPv4) dhcpv4OptionSet {
	prl := req.Options.Get(dhcpv4.OptionParameterRequestList)
	if prl == nil {
		return dhcpv4OptionSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	}
	var s dhcpv4OptionSet
	for _, c := range prl {
		s[c/64] |= 1 << (c % 64)
	}
	return s
}

// has reports whether code is in s.
func (s *dhcpv4OptionSet) has(code dhcpv4.OptionCode) bool {
	c := code.Code()
	return s[c/64]&(1<<(c%64)) != 0
}
