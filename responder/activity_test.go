package responder_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// TestActivityPrefixesAndSources checks what the responder records of a
// VM's IPv6 life: the delegated prefix once a Reply hands it out (not the
// Advertise, which only offers it, and not again on a Renew), and the
// global address the VM resolves its router from, unless the solicitation
// comes from another MAC than the binding's (which MACSPOOF allows).
func TestActivityPrefixesAndSources(t *testing.T) {
	other := net.HardwareAddr{0x52, 0x54, 0x00, 0x66, 0x66, 0x66}
	nsFrom := func(src string) []byte { return v6Patch(v6Fixture(t, "ndisc6-ns.bin"), 8, v6AddrBytes(src)) }
	for _, tc := range []struct {
		name     string
		macSpoof bool
		want     []string
	}{
		{"binding's MAC enforced", false, []string{
			"prefix6 2001:db8:100::/56 after REQUEST",
			"address6 2001:db8:1::beef after NS from 52:54:00:12:34:56",
		}},
		{"MACSPOOF", true, []string{
			"prefix6 2001:db8:100::/56 after REQUEST",
			"address6 2001:db8:1::beef after NS from 52:54:00:12:34:56",
			"address6 2001:db8:1::cafe after NS from 52:54:00:66:66:66",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := v6Binding()
			a.Delegated6 = []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56")}
			a.MACSpoof = tc.macSpoof
			r := responder.New(v6Bindings{binding.NewSnapshot([]*binding.Active{a})}, &v6Sender{}, v6Options(responder.ModeSLAACDHCPv6),
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			var got []string
			step := ""
			r.Activity().SetSink(func(ev activity.Event) {
				what := ev.Address6.String()
				if ev.Prefix6.IsValid() {
					what = ev.Prefix6.String()
				}
				got = append(got, fmt.Sprintf("%s %s after %s", ev.Kind, what, step))
			})
			send := func(kind responder.Kind, what string, mac net.HardwareAddr, payload []byte) {
				step = what
				r.Handler(kind)(&responder.Packet{ID: 1, InIndex: v6TapIndex, HwAddr: mac, Payload: payload})
			}
			for _, m := range []struct {
				typ        dhcpv6.MessageType
				withServer bool
			}{
				{dhcpv6.MessageTypeSolicit, false},
				{dhcpv6.MessageTypeRequest, true},
				{dhcpv6.MessageTypeRenew, true},
			} {
				send(responder.KindDHCPv6, m.typ.String(), v6VMMAC, v6DHCPPacket(t, pdMessage(t, m.typ, m.withServer)))
			}
			send(responder.KindNS, "NS from "+v6VMMAC.String(), v6VMMAC, nsFrom("2001:db8:1::beef"))
			send(responder.KindNS, "NS from "+other.String(), other, nsFrom("2001:db8:1::cafe"))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			v, _ := r.Activity().View(a.Name)
			if diff := cmp.Diff([]string{"2001:db8:100::/56"}, v.Delegated6); diff != "" {
				t.Errorf("view's prefixes (-want +got):\n%s", diff)
			}
		})
	}
}
