package e2e

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
)

// TestDHCPv4Bridged runs the bridged setup: the VMs' TAPs are ports of a
// bridge, the capture rule matches the bridge port with physdev, and the
// binding's INDEV is the bridge. The daemon finds the binding by the port the
// request entered from, so each VM on the bridge gets its own lease, and an
// unbound port's request is accepted and left alone.
func TestDHCPv4Bridged(t *testing.T) {
	requirePrereqs(t, "udhcpc")
	hv := newNetns(t, "hv")
	installBridgedQueueRules(t, hv)
	vm1 := connectVM(t, hv, "tap0", vmMAC(1))
	vm2 := connectVM(t, hv, "tap1", vmMAC(2))
	unbound := connectVM(t, hv, "tap2", vmMAC(3))
	addBridge(t, hv, "br0", vm1.Tap, vm2.Tap, unbound.Tap)

	d := startDaemon(t, hv, dhcpv4Config(t))
	d.WriteBinding(t, "tap0", vmBinding(vm1, "192.0.2.90", "bridged1", "INDEV", "br0"))
	d.WriteBinding(t, "tap1", vmBinding(vm2, "192.0.2.91", "bridged2", "INDEV", "br0"))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0", "INDEV=br0")
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap1", "INDEV=br0")

	for _, tc := range []struct {
		link     *Link
		ip, host string
	}{
		{vm1, "192.0.2.90", "bridged1"},
		{vm2, "192.0.2.91", "bridged2"},
	} {
		got, err := runUdhcpc(t, tc.link)
		if err != nil {
			t.Fatalf("bridged VM on %s got no lease: %v", tc.link.Tap, err)
		}
		if diff := cmp.Diff(wantLease(tc.ip, tc.host), got); diff != "" {
			t.Errorf("bridged VM on %s: lease mismatch (-want +got):\n%s", tc.link.Tap, diff)
		}
	}

	// A request from the unbound port is accepted, so the bridge floods it
	// to the other ports, where VM 1 sees it; a bound VM's request is
	// answered and dropped, so VM 1 never sees it.
	discover := dhcpRequest{Type: layers.DHCPMsgTypeDiscover}
	sniffer := rawClient(t, vm1, vm1.VMMAC)
	sniffer.drain()
	if reply, err := rawClient(t, unbound, unbound.VMMAC).exchange(discover, 500*time.Millisecond); err != errNoReply {
		t.Errorf("unbound bridge port answered: %v, %v", describeReply(reply), err)
	}
	if !sniffer.sawRequest(unbound.VMMAC, 500*time.Millisecond) {
		t.Errorf("the unbound port's request did not cross the bridge (verdict not accept)")
	}
	sniffer.drain()
	mustExchange(t, rawClient(t, vm2, vm2.VMMAC), discover)
	if sniffer.sawRequest(vm2.VMMAC, 300*time.Millisecond) {
		t.Errorf("a bound VM's request crossed the bridge (verdict not drop)")
	}
	d.Stop(t)
}
