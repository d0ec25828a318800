package binding_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// newNamespace creates a uniquely named network namespace for the test and
// returns its name and a handle on it; the calling goroutine stays in its
// own namespace.
func newNamespace(t *testing.T) (string, netns.NsHandle) {
	t.Helper()
	netnstest.RequireRoot(t)
	name := fmt.Sprintf("binding-test-%d-%x", os.Getpid(), rand.Uint32())
	netnstest.NewNamespace(t, name)
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { ns.Close() })
	return name, ns
}

func TestTableNetlinkLinks(t *testing.T) {
	name, ns := newNamespace(t)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in the namespace: %v", err)
	}
	t.Cleanup(h.Close)

	dir := t.TempDir()
	writeBinding(t, dir, "tap0", tap0File)
	writeBinding(t, dir, "tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.2\nINDEV=br0\n")

	var logs netnstest.SyncBuffer
	tbl := binding.NewTable(dir, slog.New(slog.NewTextHandler(&logs, nil)), binding.WithNetns(ns))
	t.Cleanup(func() { t.Logf("Table log:\n%s", logs.String()) })
	startRun(t, tbl)
	if s, _ := statusOf(tbl, "tap0"); s.State != binding.StatePending {
		t.Fatalf("tap0 is %v before its link exists", s.State)
	}

	// addTap creates a persistent TAP in the namespace. TAPs are made with
	// an ioctl on /dev/net/tun, which acts in the calling thread's namespace,
	// so the thread visits the test namespace for the call.
	addTap := func(tap string, mac net.HardwareAddr) int {
		t.Helper()
		var err error
		netnstest.InNS(t, name, func() {
			err = h.LinkAdd(&netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: tap}, Mode: netlink.TUNTAP_MODE_TAP})
		})
		if err != nil {
			netnstest.MissingPrerequisite(t, "cannot create TAP %s: %v", tap, err)
		}
		l, err := h.LinkByName(tap)
		if err != nil {
			t.Fatalf("find %s: %v", tap, err)
		}
		if mac != nil {
			if err := h.LinkSetHardwareAddr(l, mac); err != nil {
				t.Fatalf("set the MAC of %s: %v", tap, err)
			}
		}
		return l.Attrs().Index
	}

	first := addTap("tap0", macTap0)
	d := eventually(t, "tap0 active after its link appeared", func() bool {
		a, ok := tbl.Snapshot().ByIndex(first)
		return ok && a.Name == "tap0" && bytes.Equal(a.IndevMAC, macTap0)
	})
	t.Logf("link created → active in %v", d)

	tap0, err := h.LinkByName("tap0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkDel(tap0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "tap0 pending after its link was deleted", func() bool {
		s, _ := statusOf(tbl, "tap0")
		return s.State == binding.StatePending && tbl.Snapshot().Len() == 0
	})
	second := addTap("tap0", macTap0)
	if second == first {
		t.Fatalf("the kernel reused index %d; the test would prove nothing", first)
	}
	eventually(t, "recreated tap0 followed to its new index", func() bool {
		_, old := tbl.Snapshot().ByIndex(first)
		_, now := tbl.Snapshot().ByIndex(second)
		return now && !old
	})

	// Bridged: active once the TAP and the bridge exist, with the bridge's
	// MAC; a port leaving its bridge (a bridge-family RTM_DELLINK) must not
	// look like the TAP disappearing.
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0", HardwareAddr: macBr0}}); err != nil {
		t.Fatalf("add br0: %v", err)
	}
	tap1 := addTap("tap1", macTap1)
	eventually(t, "bridged tap1 active with the bridge's MAC", func() bool {
		a, ok := tbl.Snapshot().ByIndex(tap1)
		return ok && bytes.Equal(a.IndevMAC, macBr0)
	})
	br0, err := h.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	tap1Link, err := h.LinkByName("tap1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetMaster(tap1Link, br0); err != nil {
		t.Fatalf("enslave tap1: %v", err)
	}
	if err := h.LinkSetNoMaster(tap1Link); err != nil {
		t.Fatalf("release tap1: %v", err)
	}
	// Settle: an event queued behind the port changes.
	addTap("tap2", nil)
	writeBinding(t, dir, "tap2", "MAC=52:54:00:00:00:03\n")
	eventually(t, "tap2 active", func() bool {
		s, _ := statusOf(tbl, "tap2")
		return s.State == binding.StateActive
	})
	if _, ok := tbl.Snapshot().ByIndex(tap1); !ok || strings.Contains(logs.String(), `msg="binding: pending" TAP=tap1`) {
		t.Error("tap1 lost its binding, for a while at least, when it joined or left the bridge")
	}
}
