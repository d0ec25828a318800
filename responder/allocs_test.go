package responder_test

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// allocsSender stands in for the AF_PACKET socket without keeping or
// copying anything, so that only the responder's own allocations count.
type allocsSender struct{ frames int }

func (s *allocsSender) Send(int, []byte) error {
	s.frames++
	return nil
}

// everyProfileOption asks for every option a binding's profile can set.
var everyProfileOption = []dhcpv4.OptionCode{
	dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer, dhcpv4.OptionHostName,
	dhcpv4.OptionDomainName, dhcpv4.OptionInterfaceMTU, dhcpv4.OptionBroadcastAddress, dhcpv4.OptionNTPServers,
	dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName, dhcpv4.OptionIPv6OnlyPreferred,
	dhcpv4.OptionDNSDomainSearchList, dhcpv4.OptionClasslessStaticRoute,
}

// TestHandlerAllocations holds the answered paths that run for every VM
// at boot to zero allocations per packet once the handler is warm (issue
// 6), debug logging off: DISCOVER, REQUEST and Neighbor Solicitation,
// and DISCOVER and REQUEST for a binding whose profile uses every key
// (issue 12).
func TestHandlerAllocations(t *testing.T) {
	for _, tt := range []struct {
		name    string
		kind    responder.Kind
		active  *binding.Active
		opts    responder.Options
		hwAddr  net.HardwareAddr
		payload func(t *testing.T) []byte
	}{
		{
			name: "DISCOVER", kind: responder.KindDHCPv4, active: dhcpv4Binding(), opts: dhcpv4Options(), hwAddr: dhcpv4VMMAC,
			payload: func(t *testing.T) []byte { return dhcpv4Request(t, dhcpv4.MessageTypeDiscover) },
		},
		{
			name: "REQUEST", kind: responder.KindDHCPv4, active: dhcpv4Binding(), opts: dhcpv4Options(), hwAddr: dhcpv4VMMAC,
			payload: func(t *testing.T) []byte {
				return dhcpv4Request(t, dhcpv4.MessageTypeRequest,
					dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 10))),
					dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
						dhcpv4.OptionHostName, dhcpv4.OptionInterfaceMTU, dhcpv4.OptionBroadcastAddress))
			},
		},
		{
			name: "DISCOVER maximal binding", kind: responder.KindDHCPv4, active: dhcpv4ProfileBinding(t), opts: dhcpv4ProfileOptions(t), hwAddr: dhcpv4VMMAC,
			payload: func(t *testing.T) []byte {
				return dhcpv4Request(t, dhcpv4.MessageTypeDiscover,
					dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 7})),
					dhcpv4.WithRequestedOptions(everyProfileOption...))
			},
		},
		{
			name: "REQUEST maximal binding", kind: responder.KindDHCPv4, active: dhcpv4ProfileBinding(t), opts: dhcpv4ProfileOptions(t), hwAddr: dhcpv4VMMAC,
			payload: func(t *testing.T) []byte {
				return dhcpv4Request(t, dhcpv4.MessageTypeRequest,
					dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 10))),
					dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")),
					dhcpv4.WithRequestedOptions(everyProfileOption...))
			},
		},
		{
			name: "NS", kind: responder.KindNS, active: v6Binding(), opts: v6Options(responder.ModeSLAAC), hwAddr: v6VMMAC,
			payload: func(t *testing.T) []byte { return v6Fixture(t, "ndisc6-ns.bin") },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sender := &allocsSender{}
			log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
			r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{tt.active})}, sender, tt.opts, log)
			handle := r.Handler(tt.kind)
			payload := tt.payload(t)
			p := responder.Packet{InIndex: tt.active.TapIndex, HwAddr: tt.hwAddr}
			allocs := testing.AllocsPerRun(100, func() {
				p.Payload = payload
				handle(&p)
			})
			if got := r.Stats.Get(tt.kind, responder.OutcomeAnswered); got == 0 || got != uint64(sender.frames) {
				t.Fatalf("%d packets answered, %d frames sent: the path measured is not the answered one", got, sender.frames)
			}
			if allocs != 0 {
				t.Errorf("Handler(%s) allocates %.1f times per packet, want 0", tt.kind, allocs)
			}
		})
	}
}
