package responder

import (
	"bytes"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

// Defaults used when the configuration leaves a duration at zero, so that a
// zero Options still produces sensible packets.
const (
	v6DefaultRAPeriod  = 300 * time.Second
	v6DefaultLeaseTime = 604800 * time.Second
	v6DefaultRenewal   = 600 * time.Second
	// v6MaxRouterLifetime is the largest router lifetime RFC 4861 §6.2.1
	// allows.
	v6MaxRouterLifetime = 9000 * time.Second
	// v6MaxPREF64Lifetime is the longest lifetime a PREF64 option holds.
	v6MaxPREF64Lifetime = 8191 * 8 * time.Second
	// The prefix lifetimes are radvd's defaults; they are raised to three
	// RA periods when the period is very long, so that a VM never loses
	// its address between two advertisements.
	v6PrefixValid     = 86400 * time.Second
	v6PrefixPreferred = 14400 * time.Second
)

// handleRS answers a Router Solicitation with a Router Advertisement sent
// straight to the soliciting VM (RFC 4861 §6.2.6 allows unicast), or to
// all nodes when it has no address yet.
func (r *Responder) handleRS(p *Packet, a *binding.Active, o *Options, sc *scratch) Outcome {
	if !o.IPv6 || !a.HasIPv6() || v6Mode(a, o) == ModeNone {
		return OutcomeIgnored
	}
	rs, err := packets.DecodeRS(p.Payload)
	if err != nil {
		r.log.Debug("refusing router solicitation", "TAP", a.Name, "error", err)
		return OutcomeMalformed
	}
	r.Stats.countRequest(KindRS, icmpRouterSolicitation)
	if r.v6Spoofed(p, a, rs.SourceLL) {
		r.log.Debug("dropping spoofed router solicitation", "TAP", a.Name, "MAC", v6MACString(p.HwAddr), "SRC", rs.Src.String())
		return OutcomeSpoofed
	}
	r.activity.RS(a)
	params := v6RAParams(a, o)
	if !rs.Src.IsUnspecified() {
		params.Dst = rs.Src
		params.DstMAC = v6ClientMAC(p, rs.SourceLL, a)
	}
	frame, err := packets.BuildRA(params)
	if err != nil {
		r.log.Error("building router advertisement failed", "TAP", a.Name, "error", err)
		return OutcomeError
	}
	return r.v6Send(sc, a, frame, "router advertisement", KindRS, icmpRouterAdvertisement)
}

// handleNS answers a Neighbor Solicitation for an address the host stands
// in for: the router's link-local address, the IPv6 gateway, and every
// other address of the VM's prefix (userspace proxy NDP). The VM's own
// address is never answered, so its Duplicate Address Detection succeeds;
// DAD probes for the host's addresses are answered, telling the VM they
// are taken.
func (r *Responder) handleNS(p *Packet, a *binding.Active, o *Options, sc *scratch) Outcome {
	if !o.IPv6 || !a.HasIPv6() {
		return OutcomeIgnored
	}
	ns, err := packets.DecodeNS(p.Payload)
	if err != nil {
		if r.debug() {
			r.log.Debug("refusing neighbor solicitation", "TAP", a.Name, "error", err)
		}
		return OutcomeMalformed
	}
	r.Stats.countRequest(KindNS, icmpNeighborSolicitation)
	if r.v6Spoofed(p, a, ns.SourceLL) {
		if r.debug() {
			r.log.Debug("dropping spoofed neighbor solicitation", "TAP", a.Name, "MAC", v6MACString(p.HwAddr), "TARGET", ns.Target.String())
		}
		return OutcomeSpoofed
	}
	// A DAD probe the host answers is an address the VM will give up, not
	// one it uses: only the others are learned.
	if !ns.IsDAD() || !v6HostOwns(a, ns.Target) {
		r.activity.NS(a, &ns)
	}
	if ns.IsDAD() {
		r.promptRA(a, o)
	}
	if !v6HostOwns(a, ns.Target) {
		return OutcomeIgnored
	}
	params := packets.NAParams{RouterMAC: a.IndevMAC, Target: ns.Target, Router: true}
	if !ns.IsDAD() {
		params.Dst = ns.Src
		params.DstMAC = v6ClientMAC(p, ns.SourceLL, a)
	}
	frame, err := packets.AppendNA(sc.frame[:0], params)
	if err != nil {
		r.log.Error("building neighbor advertisement failed", "TAP", a.Name, "TARGET", ns.Target.String(), "error", err)
		return OutcomeError
	}
	sc.keep(frame)
	return r.v6Send(sc, a, frame, "neighbor advertisement", KindNS, icmpNeighborAdvertisement)
}

// v6HostOwns reports whether the host answers for target on a's TAP.
func v6HostOwns(a *binding.Active, target netip.Addr) bool {
	if target == a.EUI64 {
		return false // the VM itself
	}
	if !a.Addresses.IsZero() && v6VMOwns(a, target) {
		return false
	}
	if ll, err := binding.LinkLocal(a.IndevMAC); err == nil && target == ll {
		return true
	}
	return target == a.Gateway6 || a.Subnet6.Contains(target)
}

// handleDHCPv6 answers DHCPv6 as the mode says: nothing in slaac mode,
// Information-Request only in slaac+dhcpv6, everything in dhcpv6 mode where
// the VM's address is its EUI64.
func (r *Responder) handleDHCPv6(p *Packet, a *binding.Active, o *Options, sc *scratch) Outcome {
	mode := v6Mode(a, o)
	if !o.IPv6 || !a.HasIPv6() || mode == ModeSLAAC || mode == ModeNone {
		return OutcomeIgnored
	}
	req, err := packets.DecodeDHCPv6(p.Payload)
	if err != nil {
		r.log.Debug("refusing DHCPv6 message", "TAP", a.Name, "error", err)
		return OutcomeMalformed
	}
	r.Stats.countRequest(KindDHCPv6, uint8(req.Msg.MessageType))
	// The DUID is not checked against the MAC: clients may build it from
	// another interface or not from a MAC at all (DUID-UUID, DUID-EN).
	if r.v6Spoofed(p, a, nil) {
		r.log.Debug("dropping spoofed DHCPv6 message", "TAP", a.Name, "MAC", v6MACString(p.HwAddr), "TYPE", req.Msg.MessageType.String())
		return OutcomeSpoofed
	}
	var duid []byte
	if id := req.Msg.Options.ClientID(); id != nil {
		duid = id.ToBytes()
	}
	r.activity.DHCPv6Request(a, uint8(req.Msg.MessageType), duid)
	// slaac+dhcpv6 answers more than Information-Request when the binding
	// delegates a prefix: every mode that runs DHCPv6 hands out IA_PD.
	delegating := mode == ModeSLAACDHCPv6 && len(a.Delegated6) > 0
	if mode != ModeDHCPv6 && !delegating && req.Msg.MessageType != dhcpv6.MessageTypeInformationRequest {
		return OutcomeIgnored
	}
	params := v6DHCPParams(p, a, o)
	frame, err := packets.BuildDHCPv6Reply(req, params)
	if packets.IsDHCPv6NoReply(err) {
		r.log.Debug("DHCPv6 message needs no reply", "TAP", a.Name, "reason", err)
		return OutcomeIgnored
	}
	if err != nil {
		r.log.Error("building DHCPv6 reply failed", "TAP", a.Name, "TYPE", req.Msg.MessageType.String(), "error", err)
		return OutcomeError
	}
	replyType, _ := dhcpv6FrameType(frame)
	out := r.v6Send(sc, a, frame, "DHCPv6 reply", KindDHCPv6, replyType)
	if out == OutcomeAnswered && params.Address.IsValid() && v6HandsOut(req.Msg, replyType) && len(req.Msg.Options.IANA()) > 0 {
		r.activity.DHCPv6Leased(a, params.Address)
	}
	if out == OutcomeAnswered && len(params.Delegated) > 0 && v6HandsOut(req.Msg, replyType) && len(req.Msg.Options.IAPD()) > 0 {
		r.activity.DHCPv6Delegated(a, params.Delegated)
	}
	return out
}

// v6Mode is the IPv6 mode of a's NIC: its binding's IPV6_MODE, else the
// configuration's.
func v6Mode(a *binding.Active, o *Options) IPv6Mode {
	if a.Profile.Has(profile.KeyIPv6Mode) {
		return a.Profile.IPv6Mode
	}
	return o.Mode
}

// v6DNS returns the DNS servers and search list of a's NIC: the binding's
// NAMESERVERS6 and SEARCH, else the [ipv6] nameservers and domains, else
// the profile defaults ([dhcp] search).
func v6DNS(a *binding.Active, o *Options) (servers []netip.Addr, domains []string) {
	servers, domains = o.Nameservers6, o.Domains6
	switch {
	case a.Profile.Has(profile.KeyNameservers6):
		servers = a.Profile.Nameservers6
	case o.Profile.Has(profile.KeyNameservers6):
		servers = o.Profile.Nameservers6
	}
	switch {
	case a.Profile.Has(profile.KeySearch):
		domains = a.Profile.Search.Names
	case len(domains) == 0 && o.Profile.Has(profile.KeySearch):
		domains = o.Profile.Search.Names
	}
	return servers, domains
}

// v6DHCPParams derives the DHCPv6 lease from the lease settings of the
// profile, else [dhcp]: the address is valid and preferred for the lease
// time, renewed after the renewal time (T1) and rebound after 7/8 of the
// lifetime (T2), as in DHCPv4.
func v6DHCPParams(p *Packet, a *binding.Active, o *Options) packets.DHCPv6Params {
	prof := a.Profile.Over(&o.Profile)
	lease := v6OrDefault(o.LeaseTime, v6DefaultLeaseTime)
	if prof.LeaseTime > 0 {
		lease = prof.LeaseTime
	}
	renewal := o.RenewalTime
	if prof.RenewalTime > 0 {
		renewal = prof.RenewalTime
	}
	t2 := lease / 8 * 7
	t1 := min(v6OrDefault(renewal, v6DefaultRenewal), t2)
	dns, domains := v6DNS(a, o)
	params := packets.DHCPv6Params{
		ServerMAC:         a.IndevMAC,
		ClientMAC:         v6ClientMAC(p, nil, a),
		OnLink:            a.Subnet6,
		T1:                t1,
		T2:                t2,
		PreferredLifetime: lease,
		ValidLifetime:     lease,
		DNS:               dns,
		Domains:           domains,
		NTP:               prof.NTP6,
		BootURL:           prof.BootfileURL6.URL,
		BootParams:        prof.BootfileURL6.Params,
	}
	if v6Mode(a, o) == ModeDHCPv6 {
		params.Address = a.EUI64
	}
	params.Delegated = a.Delegated6
	return params
}

// v6RAParams describes the Router Advertisement of a's TAP, to all nodes.
// In dhcpv6 mode the prefix is announced without the autonomous flag, so
// that the VM takes its address from DHCPv6 only. The router lifetime is
// three RA periods capped at 9000 s (RFC 4861 §6.2.1), 0 on a private
// network; RDNSS and DNSSL live three RA periods (RFC 8106 §5.1).
func v6RAParams(a *binding.Active, o *Options) packets.RAParams {
	period := v6OrDefault(o.RAPeriod, v6DefaultRAPeriod)
	mode := v6Mode(a, o)
	dns, domains := v6DNS(a, o)
	params := packets.RAParams{
		RouterMAC:         a.IndevMAC,
		Managed:           mode == ModeDHCPv6,
		Other:             mode != ModeSLAAC,
		RouterLifetime:    min(3*period, v6MaxRouterLifetime),
		Prefix:            a.Subnet6,
		Autonomous:        mode != ModeDHCPv6,
		ValidLifetime:     max(v6PrefixValid, 3*period),
		PreferredLifetime: max(v6PrefixPreferred, 3*period),
		DNS:               dns,
		Domains:           domains,
		DNSLifetime:       3 * period,
		MTU:               a.MTU,
		Preference:        o.RouterPreference,
		Routes:            o.RouteInfo,
		PREF64:            o.PREF64,
		// RFC 8781 §4.1: at least three RA periods, within what its
		// 13-bit field of 8-second units holds.
		PREF64Lifetime: min(3*period, v6MaxPREF64Lifetime),
	}
	if a.Prefix6.IsValid() {
		// The VM's own prefix replaces the shared one, always with A=1:
		// the guest forms whatever addresses it likes (stable-privacy,
		// temporary), all routed to its TAP.
		params.Prefix = a.Prefix6
		params.Autonomous = true
	}
	if a.Private {
		params.RouterLifetime = 0
	}
	return params
}

// v6Spoofed reports whether a packet comes from another MAC than the
// binding's, judged by the Ethernet source the kernel saw and the
// link-layer address the packet claims (nil when it claims none).
func (r *Responder) v6Spoofed(p *Packet, a *binding.Active, claimed net.HardwareAddr) bool {
	if a.MACSpoof {
		return false
	}
	if p.HwAddr != nil && !bytes.Equal(p.HwAddr, a.MAC) {
		return true
	}
	return claimed != nil && !bytes.Equal(claimed, a.MAC)
}

// v6ClientMAC is the Ethernet destination of a unicast reply: the
// link-layer address the VM announced, else the source the kernel saw,
// else the binding's MAC.
func v6ClientMAC(p *Packet, claimed net.HardwareAddr, a *binding.Active) net.HardwareAddr {
	switch {
	case claimed != nil:
		return claimed
	case p.HwAddr != nil:
		return p.HwAddr
	}
	return a.MAC
}

// v6Send writes frame, a reply of message type replyType to a packet of
// kind, onto a's TAP, or holds it for the end of the read (outbox.go).
func (r *Responder) v6Send(sc *scratch, a *binding.Active, frame []byte, what string, kind Kind, replyType uint8) Outcome {
	held, err := r.sendReply(sc, a, frame, heldReply{tap: a.Name, what: what, kind: kind, replyType: replyType})
	if err != nil {
		r.log.Error("sending reply failed", "TAP", a.Name, "REPLY", what, "error", err)
		return OutcomeError
	}
	if !held {
		r.Stats.countReply(kind, replyType)
	}
	if r.debug() {
		r.log.Debug("sent reply", "TAP", a.Name, "REPLY", what)
	}
	return OutcomeAnswered
}

func v6OrDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func v6MACString(mac net.HardwareAddr) string {
	if mac == nil {
		return "unknown"
	}
	return mac.String()
}

// v6VMOwns reports whether target is an address the VM itself answers
// for: one of IPS6 or inside PREFIX6, so that its DAD succeeds.
func v6VMOwns(a *binding.Active, target netip.Addr) bool {
	if a.Prefix6.IsValid() && a.Prefix6.Contains(target) {
		return true
	}
	for _, ip := range a.IPs6 {
		if ip == target {
			return true
		}
	}
	return false
}

// v6HandsOut reports whether a reply of replyType to msg gives the client
// what its IAs ask for to use: a Reply to Request, Renew or Rebind, or to
// a Solicit with rapid commit. An Advertise only offers.
func v6HandsOut(msg *dhcpv6.Message, replyType uint8) bool {
	if dhcpv6.MessageType(replyType) != dhcpv6.MessageTypeReply {
		return false
	}
	switch msg.MessageType {
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		return true
	case dhcpv6.MessageTypeSolicit:
		return msg.GetOneOption(dhcpv6.OptionRapidCommit) != nil
	}
	return false
}
