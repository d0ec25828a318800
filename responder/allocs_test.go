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
// (issue 12). The lease activity is recorded on each of them (issue 15):
// the client's host name, vendor and user class, the renewed ACK, the DAD
// probe's address, the source of a solicitation, all without allocating
// once the VM's record exists.
func TestHandlerAllocations(t *testing.T) {
	for _, tt := range []struct {
		name    string
		kind    responder.Kind
		active  *binding.Active
		opts    responder.Options
		hwAddr  net.HardwareAddr
		payload func(t *testing.T) []byte
		// ignored: the packet is recorded but needs no answer (a DAD
		// probe for the VM's own address).
		ignored bool
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
					dhcpv4.WithOption(dhcpv4.OptHostName("vm7")),
					dhcpv4.WithOption(dhcpv4.OptClassIdentifier("udhcp 1.36.1")),
					dhcpv4.WithOption(dhcpv4.OptUserClass("tenant-a")),
					dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc})),
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
		{
			// The VM resolving its router from a global address, learned
			// as one it uses (issue 15).
			name: "NS from a global address", kind: responder.KindNS, active: v6Binding(), opts: v6Options(responder.ModeSLAAC), hwAddr: v6VMMAC,
			payload: func(t *testing.T) []byte {
				return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 8, v6AddrBytes("2001:db8:1::beef"))
			},
		},
		{
			name: "NS-DAD", kind: responder.KindNS, active: v6Binding(), opts: v6Options(responder.ModeSLAAC), hwAddr: v6VMMAC,
			payload: func(t *testing.T) []byte { return v6Fixture(t, "kernel-ns-dad.bin") },
			ignored: true,
		},
	} {
		// Held for the end of the read or sent at once, as the sender can
		// or cannot write batches.
		for _, batching := range []bool{false, true} {
			name := tt.name
			if batching {
				name += " batched"
			}
			t.Run(name, func(t *testing.T) {
				sender := &allocsSender{}
				var s responder.Sender = sender
				if batching {
					s = responder.NewBatchingSender(sender, func(_ []int, frames [][]byte) (int, error) {
						sender.frames += len(frames)
						return len(frames), nil
					})
				}
				log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
				r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{tt.active})}, s, tt.opts, log)
				handle := r.Handler(tt.kind)
				payload := tt.payload(t)
				p := responder.Packet{InIndex: tt.active.TapIndex, HwAddr: tt.hwAddr}
				allocs := testing.AllocsPerRun(100, func() {
					p.Payload = payload
					handle(&p)
				})
				if tt.ignored {
					if got := r.Stats.Get(tt.kind, responder.OutcomeIgnored); got == 0 {
						t.Fatalf("no packet ignored: the path measured is not the recorded-only one")
					}
				} else if got := r.Stats.Get(tt.kind, responder.OutcomeAnswered); got == 0 || got != uint64(sender.frames) {
					t.Fatalf("%d packets answered, %d frames sent: the path measured is not the answered one", got, sender.frames)
				}
				if _, ok := r.Activity().View(tt.active.Name); !ok {
					t.Errorf("no activity recorded for %s", tt.active.Name)
				}
				if allocs != 0 {
					t.Errorf("Handler(%s) allocates %.1f times per packet, want 0", tt.kind, allocs)
				}
			})
		}
	}
}
