package binding_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// TestNetlinkLinksListsExisting checks the link dump the Table reads at
// start against the library's full LinkList, on a namespace holding links
// made before the subscription: every index, name and hardware address.
func TestNetlinkLinksListsExisting(t *testing.T) {
	_, ns := newNamespace(t)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in the namespace: %v", err)
	}
	t.Cleanup(h.Close)
	for i := range 25 {
		veth := &netlink.Veth{
			LinkAttrs:        netlink.LinkAttrs{Name: fmt.Sprintf("va%d", i), HardwareAddr: net.HardwareAddr{0x02, 0, 0, 0, 0x10, byte(i)}},
			PeerName:         fmt.Sprintf("vb%d", i),
			PeerHardwareAddr: net.HardwareAddr{0x02, 0, 0, 0, 0x20, byte(i)},
		}
		if err := h.LinkAdd(veth); err != nil {
			t.Fatalf("add a veth pair: %v", err)
		}
	}
	full, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var want []binding.Link
	for _, l := range full {
		a := l.Attrs()
		want = append(want, binding.Link{Name: a.Name, Index: a.Index, MAC: a.HardwareAddr})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := binding.NetlinkLinks(ns, slog.New(slog.NewTextHandler(io.Discard, nil))).Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var got []binding.Link
	select {
	case ev := <-events:
		if !ev.Sync {
			t.Fatalf("first event %+v is not the full list", ev)
		}
		got = ev.Links
	case <-time.After(5 * time.Second):
		t.Fatal("no link list after 5 s")
	}
	byIndex := func(a, b binding.Link) int { return a.Index - b.Index }
	slices.SortFunc(want, byIndex)
	slices.SortFunc(got, byIndex)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b net.HardwareAddr) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("links (-LinkList +Watch):\n%s", diff)
	}
	if len(got) < 51 {
		t.Errorf("%d links listed, want the 50 veths and lo", len(got))
	}
}
