package responder

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

// dhcpv4DefaultLeaseTime is the original daemon's lease_lifetime, used when
// the options carry none.
const dhcpv4DefaultLeaseTime = 604800 * time.Second

// handleDHCPv4 answers one DHCPv4 request from a bound TAP: DISCOVER gets an
// OFFER, REQUEST an ACK for the binding's address or else a NAK, INFORM an
// ACK without address; RELEASE and DECLINE are only logged.
func (r *Responder) handleDHCPv4(p *Packet, a *binding.Active, o *Options, sc *scratch) Outcome {
	req := &sc.dhcpv4Request
	if err := packets.ParseDHCPv4(p.Payload, req); err != nil {
		if r.debug() {
			r.log.Debug("dropping undecodable DHCPv4 packet", "TAP", a.Name, "err", err)
		}
		return OutcomeMalformed
	}
	msgType := req.Type
	r.Stats.countRequest(KindDHCPv4, uint8(msgType))
	if !a.MACSpoof && (!bytes.Equal(req.ClientHWAddr, a.MAC) || (p.HwAddr != nil && !bytes.Equal(p.HwAddr, a.MAC))) {
		r.dhcpv4Notice(&r.dhcpv4Notices.spoofed, slog.LevelWarn, "dropping DHCPv4 request from a MAC other than the binding's",
			"TAP", a.Name, "MAC", a.MAC.String(), "CHADDR", req.ClientHWAddr.String(), "SRCMAC", p.HwAddr.String())
		return OutcomeSpoofed
	}
	r.activity.DHCPv4Request(a, uint8(msgType), req.ClientInfo())
	if !a.IP.Is4() {
		if r.debug() {
			r.log.Debug("no IPv4 address bound: DHCPv4 request ignored", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "MSG", msgType.String())
		}
		return OutcomeIgnored
	}

	var reply dhcpv4.MessageType
	switch t := msgType; t {
	case dhcpv4.MessageTypeDiscover:
		reply = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		// The server identifier a SELECTING client names is not checked:
		// the VM's requests reach no other server (they are dropped here),
		// so the binding's address is the only answer it can get.
		reply = dhcpv4.MessageTypeAck
		if want := dhcpv4Requested(req); want != a.IP {
			if r.debug() {
				r.log.Debug("DHCPv4 REQUEST for an address not bound", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "IP", a.IP.String(), "REQUESTED", want.String())
			}
			reply = dhcpv4.MessageTypeNak
		}
	case dhcpv4.MessageTypeInform:
		reply = dhcpv4.MessageTypeAck
	case dhcpv4.MessageTypeDecline:
		// A VM that declines its only address has a conflict on its link:
		// the operator wants to know.
		r.dhcpv4Notice(&r.dhcpv4Notices.declined, slog.LevelInfo, "DHCPv4 DECLINE: the VM reports its address in use",
			"TAP", a.Name, "MAC", req.ClientHWAddr.String(), "IP", a.IP.String())
		r.activity.DHCPv4Decline(a, a.IP)
		return OutcomeIgnored
	case dhcpv4.MessageTypeRelease:
		r.activity.DHCPv4Release(a, req.ClientIP)
		return OutcomeIgnored
	default:
		if r.debug() {
			r.log.Debug("DHCPv4 message not answered", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "MSG", t.String())
		}
		return OutcomeIgnored
	}

	lease := &sc.dhcpv4Lease
	if !r.dhcpv4Lease(a, o, req, lease) {
		return OutcomeError
	}
	frame, err := req.AppendReply(sc.frame[:0], reply, lease)
	if err != nil {
		r.log.Warn("cannot build DHCPv4 reply", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "MSG", reply.String(), "err", err)
		return OutcomeError
	}
	sc.keep(frame)
	held, err := r.sendReply(sc, a, frame, heldReply{tap: a.Name, what: reply.String(), kind: KindDHCPv4, replyType: uint8(reply)})
	if err != nil {
		r.log.Warn("cannot send DHCPv4 reply", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "MSG", reply.String(), "err", err)
		return OutcomeError
	}
	if r.debug() {
		r.log.Debug("DHCPv4 answered", "TAP", a.Name, "MAC", req.ClientHWAddr.String(), "IP", a.IP.String(),
			"MSG", reply.String(), "REQ", msgType.String())
	}
	if !held {
		r.Stats.countReply(KindDHCPv4, uint8(reply))
	}
	if msgType == dhcpv4.MessageTypeDiscover {
		r.promptRA(a, o)
	}
	switch {
	case reply == dhcpv4.MessageTypeNak:
		r.activity.DHCPv4NAK(a, dhcpv4Requested(req))
		return OutcomeNAK
	case reply == dhcpv4.MessageTypeAck && msgType == dhcpv4.MessageTypeRequest:
		r.activity.DHCPv4Ack(a, a.IP, lease.LeaseTime)
	}
	return OutcomeAnswered
}

// dhcpv4Requested returns the address a REQUEST asks for: the requested
// address option in SELECTING and INIT-REBOOT, ciaddr when renewing or
// rebinding (RFC 2131 §4.3.2). It is invalid when the request names none.
func dhcpv4Requested(req *packets.DHCPv4Request) netip.Addr {
	if req.RequestedIP.IsValid() {
		return req.RequestedIP
	}
	if !req.ClientIP.IsUnspecified() {
		return req.ClientIP
	}
	return netip.Addr{}
}

// dhcpv4Lease gathers what the reply to req says from the binding, its
// profile and the options. It fills l, and logs and reports false when no
// server identifier can be chosen.
func (r *Responder) dhcpv4Lease(a *binding.Active, o *Options, req *packets.DHCPv4Request, l *packets.DHCPv4Lease) bool {
	serverID := dhcpv4ServerID(a, o)
	if !serverID.IsValid() {
		r.log.Warn("no DHCPv4 server identifier: set server_ip, or GATEWAY or SUBNET in the binding", "TAP", a.Name)
		return false
	}
	p := a.Profile.Over(&o.Profile)
	*l = packets.DHCPv4Lease{
		ServerMAC:    a.IndevMAC,
		ServerIP:     serverID,
		ClientIP:     a.IP,
		Subnet:       a.Subnet,
		Nameservers:  o.Nameservers,
		LeaseTime:    o.LeaseTime,
		NTP:          p.NTP,
		DomainSearch: p.Search.Wire,
		Routes:       p.Routes,
		NextServer:   p.NextServer,
		TFTPServer:   p.TFTPServer,
		Bootfile:     dhcpv4Bootfile(&p, req),
		IPv6OnlyWait: p.IPv6Only,
		Extra:        p.DHCPOptions,
	}
	if p.Has(profile.KeyNameservers) {
		l.Nameservers = p.Nameservers
	}
	if !l.Subnet.IsValid() {
		// Without SUBNET the VM still needs a mask: a host route is all
		// that is known to be right.
		l.Subnet = netip.PrefixFrom(a.IP, 32)
	}
	if !a.Private && a.Gateway.Is4() {
		l.Router = a.Gateway
	}
	if 68 <= a.MTU && a.MTU <= 65535 {
		l.MTU = a.MTU
	}
	// The host name option carries HOSTNAME as written, as the original
	// did. Its domain part is the domain name when neither the profile
	// nor the configuration names one.
	l.Hostname = a.Hostname
	switch {
	case p.Has(profile.KeyDomain):
		l.Domain = p.Domain
	case o.Domain != "":
		l.Domain = o.Domain
	default:
		_, l.Domain, _ = strings.Cut(strings.TrimSuffix(a.Hostname, "."), ".")
	}
	if p.LeaseTime > 0 {
		l.LeaseTime = p.LeaseTime
	}
	if l.LeaseTime <= 0 {
		l.LeaseTime = dhcpv4DefaultLeaseTime
	}
	// T2 is 7/8 of the lease as RFC 2131 §4.4.5 suggests; a renewal time
	// that would not come before it falls back to the RFC's half lease.
	l.RebindingTime = l.LeaseTime / 8 * 7
	l.RenewalTime = o.RenewalTime
	if p.RenewalTime > 0 {
		l.RenewalTime = p.RenewalTime
	}
	if l.RenewalTime <= 0 || l.RenewalTime >= l.RebindingTime {
		l.RenewalTime = l.LeaseTime / 2
	}
	return true
}

// dhcpv4Bootfile chooses the boot file for the client: BOOTFILE_IPXE for
// iPXE, so that it chain-loads its script instead of itself again;
// BOOTFILE_EFI for UEFI x86-64 firmware; BOOTFILE otherwise, and also when
// the specific one is not set.
func dhcpv4Bootfile(p *profile.Profile, req *packets.DHCPv4Request) string {
	switch {
	case p.BootfileIPXE != "" && req.IsIPXE():
		return p.BootfileIPXE
	case p.BootfileEFI != "" && req.IsUEFI():
		return p.BootfileEFI
	}
	return p.Bootfile
}

// dhcpv4ServerID chooses the server identifier, which is also the source
// address of replies: the configured server_ip unless the server is to look
// on-link; on-link, the binding's gateway, else the first host address of
// its subnet; failing both, server_ip after all.
func dhcpv4ServerID(a *binding.Active, o *Options) netip.Addr {
	if o.ServerIP.Is4() && !o.ServerOnLink {
		return o.ServerIP
	}
	if a.Gateway.Is4() {
		return a.Gateway
	}
	if a.Subnet.Addr().Is4() && a.Subnet.Bits() <= 30 {
		return a.Subnet.Masked().Addr().Next()
	}
	if o.ServerIP.Is4() {
		return o.ServerIP
	}
	return netip.Addr{}
}
