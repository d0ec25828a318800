package responder

import "github.com/nfdhcpd/nfdhcpd/binding"

// TODO(ipv6 helper): replace with the real handlers.
func (r *Responder) handleRS(p *Packet, a *binding.Active, o *Options) Outcome     { return OutcomeIgnored }
func (r *Responder) handleNS(p *Packet, a *binding.Active, o *Options) Outcome     { return OutcomeIgnored }
func (r *Responder) handleDHCPv6(p *Packet, a *binding.Active, o *Options) Outcome { return OutcomeIgnored }
