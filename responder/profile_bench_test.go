package responder_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// BenchmarkHandlerDiscover answers a DISCOVER asking for every option,
// through the whole Handler (lookup, profile over defaults, reply), for the
// plain binding of the tests and for one whose profile uses every key.
func BenchmarkHandlerDiscover(b *testing.B) {
	for _, bc := range []struct {
		name string
		a    *binding.Active
		o    responder.Options
	}{
		{"default", dhcpv4Binding(), dhcpv4Options()},
		{"maximal", dhcpv4ProfileBinding(b), dhcpv4ProfileOptions(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sender := &allocsSender{}
			log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
			r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{bc.a})}, sender, bc.o, log)
			handle := r.Handler(responder.KindDHCPv4)
			payload := dhcpv4Request(b, dhcpv4.MessageTypeDiscover, dhcpv4.WithRequestedOptions(everyProfileOption...))
			p := responder.Packet{InIndex: bc.a.TapIndex, HwAddr: bc.a.MAC}
			b.ReportAllocs()
			for b.Loop() {
				p.Payload = payload
				handle(&p)
			}
			if sender.frames == 0 {
				b.Fatal("no reply sent")
			}
		})
	}
}
