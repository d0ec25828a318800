package responder

import "github.com/nfdhcpd/nfdhcpd/binding"

// handleDHCPv4 answers one DHCPv4 request from a bound TAP.
func (r *Responder) handleDHCPv4(p *Packet, a *binding.Active, o *Options) Outcome {
	return OutcomeIgnored // TODO(dhcpv4 helper): replace
}
