package packets

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// errDHCPv6NoReply means the message was understood but RFC 8415 says no
// server answers it (another server's identifier, a Confirm without
// addresses, ...).
var errDHCPv6NoReply = errors.New("no DHCPv6 reply is due")

// IsDHCPv6NoReply reports whether err says a DHCPv6 message deserves no
// reply although it was well formed.
func IsDHCPv6NoReply(err error) bool { return errors.Is(err, errDHCPv6NoReply) }

// dhcpv6Preference is the Preference option of an Advertise: 255 tells the
// client to stop collecting advertisements and request at once (RFC 8415
// §18.2.1); there is never another server on a TAP.
const dhcpv6Preference = 255

// dhcpv6HopLimit is the hop limit of replies; they are link-local anyway.
const dhcpv6HopLimit = 64

// DHCPv6Params is what the server hands out to one client. Durations are
// rounded down to whole seconds on the wire.
type DHCPv6Params struct {
	// ServerMAC is INDEV's MAC: the Ethernet source, the server DUID-LL,
	// and (through EUI-64) the link-local IPv6 source.
	ServerMAC net.HardwareAddr
	// ClientMAC is the Ethernet destination.
	ClientMAC net.HardwareAddr

	// Address is the one address offered in the client's first IA_NA; an
	// invalid Address answers every IA_NA with NoAddrsAvail.
	Address netip.Addr
	// OnLink is the prefix a Confirm is checked against.
	OnLink netip.Prefix
	// T1 and T2 go into the IA_NA, PreferredLifetime and ValidLifetime
	// into its address.
	T1, T2            time.Duration
	PreferredLifetime time.Duration
	ValidLifetime     time.Duration

	// DNS and Domains become options 23 and 24 when not empty.
	DNS     []netip.Addr
	Domains []string
	// NTP becomes option 56 with one server address suboption each (RFC
	// 5908) when not empty.
	NTP []netip.Addr
	// BootURL and BootParams are options 59 and 60 (RFC 5970), sent to a
	// client whose option request names them.
	BootURL    string
	BootParams []string
}

// BuildDHCPv6Reply returns the Ethernet frame answering req: an Advertise
// for a Solicit (a Reply with Rapid Commit when the client asked for it), a
// Reply for everything else. When RFC 8415 says the message must not be
// answered, the error satisfies IsDHCPv6NoReply.
func BuildDHCPv6Reply(req DHCPv6Request, p DHCPv6Params) ([]byte, error) {
	if req.Msg == nil {
		return nil, fmt.Errorf("packets: DHCPv6 reply to no message: %w", errInvalidParams)
	}
	src, err := binding.LinkLocal(p.ServerMAC)
	if err != nil {
		return nil, fmt.Errorf("packets: DHCPv6 reply source: %w: %w", err, errInvalidParams)
	}
	reply, err := dhcpv6NewReply(req.Msg, &p)
	if err != nil {
		return nil, fmt.Errorf("packets: DHCPv6 %s from %s: %w", req.Msg.MessageType, req.Src, err)
	}
	f := v6Frame{srcMAC: p.ServerMAC, dstMAC: p.ClientMAC, src: src, dst: req.Src, hopLimit: dhcpv6HopLimit}
	return v6SerializeUDP(f, DHCPv6ServerPort, DHCPv6ClientPort, reply.ToBytes())
}

// dhcpv6NewReply builds the message answering msg, or says why none is due.
func dhcpv6NewReply(msg *dhcpv6.Message, p *DHCPv6Params) (*dhcpv6.Message, error) {
	serverID := &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: p.ServerMAC}
	if err := dhcpv6CheckIDs(msg, serverID); err != nil {
		return nil, err
	}
	reply := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeReply, TransactionID: msg.TransactionID}
	if cid := msg.Options.ClientID(); cid != nil {
		reply.AddOption(dhcpv6.OptClientID(cid))
	}
	reply.AddOption(dhcpv6.OptServerID(serverID))

	switch msg.MessageType {
	case dhcpv6.MessageTypeSolicit:
		if msg.GetOneOption(dhcpv6.OptionRapidCommit) != nil {
			dhcpv6.WithRapidCommit(reply)
		} else {
			reply.MessageType = dhcpv6.MessageTypeAdvertise
			reply.AddOption(dhcpv6.OptPreference(dhcpv6Preference))
		}
		dhcpv6AddIANAs(reply, msg, p, false)
		dhcpv6AddConfig(reply, msg, p)
	case dhcpv6.MessageTypeRequest:
		dhcpv6AddIANAs(reply, msg, p, false)
		dhcpv6AddConfig(reply, msg, p)
	case dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		dhcpv6AddIANAs(reply, msg, p, true)
		dhcpv6AddConfig(reply, msg, p)
	case dhcpv6.MessageTypeConfirm:
		status, err := dhcpv6ConfirmStatus(msg, p.OnLink)
		if err != nil {
			return nil, err
		}
		reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: status, StatusMessage: status.String()})
	case dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		// Nothing is recorded, so there is nothing to release: the address
		// stays the VM's as long as its binding file exists.
		reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: iana.StatusSuccess.String()})
	case dhcpv6.MessageTypeInformationRequest:
		dhcpv6AddConfig(reply, msg, p)
	default:
		return nil, fmt.Errorf("not a client message: %w", errUnsupported)
	}
	return reply, nil
}

// dhcpv6CheckIDs applies the identifier rules of RFC 8415 §16: which
// messages must, may or must not name a server, and which need a client.
func dhcpv6CheckIDs(msg *dhcpv6.Message, ours dhcpv6.DUID) error {
	sid := msg.Options.ServerID()
	switch msg.MessageType {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeConfirm, dhcpv6.MessageTypeRebind:
		if sid != nil {
			return fmt.Errorf("carries a server identifier: %w", errDHCPv6NoReply)
		}
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		if sid == nil || !sid.Equal(ours) {
			return fmt.Errorf("for server %v, not %v: %w", sid, ours, errDHCPv6NoReply)
		}
	case dhcpv6.MessageTypeInformationRequest:
		if sid != nil && !sid.Equal(ours) {
			return fmt.Errorf("for server %v, not %v: %w", sid, ours, errDHCPv6NoReply)
		}
		return nil // the client identifier is optional here
	}
	if msg.Options.ClientID() == nil {
		return fmt.Errorf("without a client identifier: %w", errDHCPv6NoReply)
	}
	return nil
}

// dhcpv6AddIANAs answers each IA_NA of msg with the client's IAID. The
// first gets p.Address; the others get NoAddrsAvail, since a VM has exactly
// one address. On Renew and Rebind, addresses the client holds that are
// not p.Address are returned with zero lifetimes so that it drops them
// (RFC 8415 §18.3.4).
func dhcpv6AddIANAs(reply, msg *dhcpv6.Message, p *DHCPv6Params, dropOthers bool) {
	for i, ia := range msg.Options.IANA() {
		out := &dhcpv6.OptIANA{IaId: ia.IaId}
		if i == 0 && p.Address.IsValid() {
			out.T1 = p.T1.Truncate(time.Second)
			out.T2 = p.T2.Truncate(time.Second)
			out.Options.Add(&dhcpv6.OptIAAddress{
				IPv6Addr:          p.Address.AsSlice(),
				PreferredLifetime: p.PreferredLifetime.Truncate(time.Second),
				ValidLifetime:     p.ValidLifetime.Truncate(time.Second),
			})
		} else {
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: iana.StatusNoAddrsAvail.String()})
		}
		if dropOthers {
			for _, held := range ia.Options.Addresses() {
				a, ok := netip.AddrFromSlice(held.IPv6Addr)
				if !ok || (i == 0 && a == p.Address) {
					continue
				}
				out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: held.IPv6Addr})
			}
		}
		reply.AddOption(out)
	}
}

// dhcpv6AddConfig adds the DNS servers, the domain search list, the NTP
// servers and, when asked for, the boot file URL and its parameters.
func dhcpv6AddConfig(reply, msg *dhcpv6.Message, p *DHCPv6Params) {
	if len(p.DNS) > 0 {
		ips := make([]net.IP, len(p.DNS))
		for i, a := range p.DNS {
			ips[i] = a.AsSlice()
		}
		reply.AddOption(dhcpv6.OptDNS(ips...))
	}
	if len(p.Domains) > 0 {
		dhcpv6.WithDomainSearchList(p.Domains...)(reply)
	}
	if len(p.NTP) > 0 {
		ntp := &dhcpv6.OptNTPServer{}
		for _, a := range p.NTP {
			addr := dhcpv6.NTPSuboptionSrvAddr(a.AsSlice())
			ntp.Suboptions.Add(&addr)
		}
		reply.AddOption(ntp)
	}
	if p.BootURL != "" && msg.IsOptionRequested(dhcpv6.OptionBootfileURL) {
		reply.AddOption(dhcpv6.OptBootFileURL(p.BootURL))
		if len(p.BootParams) > 0 && msg.IsOptionRequested(dhcpv6.OptionBootfileParam) {
			reply.AddOption(dhcpv6.OptBootFileParam(p.BootParams...))
		}
	}
}

// dhcpv6ConfirmStatus tells a confirming client whether all its addresses
// are still on-link. A Confirm without addresses gets no reply (RFC 8415
// §18.3.3).
func dhcpv6ConfirmStatus(msg *dhcpv6.Message, onLink netip.Prefix) (iana.StatusCode, error) {
	n := 0
	for _, ia := range msg.Options.IANA() {
		for _, held := range ia.Options.Addresses() {
			n++
			a, ok := netip.AddrFromSlice(held.IPv6Addr)
			if !ok || !onLink.IsValid() || !onLink.Contains(a) {
				return iana.StatusNotOnLink, nil
			}
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("confirms no address: %w", errDHCPv6NoReply)
	}
	return iana.StatusSuccess, nil
}
