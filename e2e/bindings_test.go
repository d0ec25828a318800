package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// bindingLatency is how long a binding file operation may take to show on
// the wire while the daemon runs.
const bindingLatency = time.Second

// TestBindingLifecycleWhileRunning creates, renames in, rewrites in place and
// removes a binding while the daemon runs, and checks each change shows on
// the wire within a second: measured from the file operation to the first
// DHCP exchange (or silence) that reflects it.
func TestBindingLifecycleWhileRunning(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(1))
	d := startDaemon(t, hv, dhcpv4Config(t))
	c := rawClient(t, l, l.VMMAC)
	discover := dhcpRequest{Type: layers.DHCPMsgTypeDiscover}
	offers := func(ip string) func(*layers.DHCPv4) bool {
		return func(r *layers.DHCPv4) bool { return isOffer(r) && yourIP(r).String() == ip }
	}

	if reply, err := c.exchange(discover, 300*time.Millisecond); err != errNoReply {
		t.Fatalf("before any binding: got %v, %v; want no reply", describeReply(reply), err)
	}

	steps := []struct {
		name string
		op   func()
		ip   string // the address offered afterwards; empty = no answer
	}{
		{"created in place", func() { d.WriteBindingInPlace(t, "tap0", vmBinding(l, "192.0.2.60", "vm")) }, "192.0.2.60"},
		{"new IP renamed in", func() { d.WriteBinding(t, "tap0", vmBinding(l, "192.0.2.61", "vm")) }, "192.0.2.61"},
		{"new IP written in place", func() { d.WriteBindingInPlace(t, "tap0", vmBinding(l, "192.0.2.62", "vm")) }, "192.0.2.62"},
		{"removed", func() { d.RemoveBinding(t, "tap0") }, ""},
		{"renamed in again", func() { d.WriteBinding(t, "tap0", vmBinding(l, "192.0.2.63", "vm")) }, "192.0.2.63"},
	}
	for _, s := range steps {
		start := time.Now()
		s.op()
		var took time.Duration
		if s.ip == "" {
			took = awaitSilence(t, c, discover, start, bindingLatency)
		} else {
			_, took = awaitReply(t, c, discover, start, bindingLatency, offers(s.ip))
		}
		t.Logf("binding %s: visible on the wire after %v", s.name, took.Round(time.Millisecond))
		if took > bindingLatency {
			t.Errorf("binding %s took %v to take effect, want < %v", s.name, took, bindingLatency)
		}
	}
	d.Stop(t)
}

// TestHostileBindingFiles drops broken and hostile binding files into the
// data directory of a running daemon. Each is refused with a log line naming
// the file and the reason, a good binding broken by a bad rewrite keeps
// serving its previous content, and another VM keeps getting leases
// throughout.
func TestHostileBindingFiles(t *testing.T) {
	hv := newHypervisor(t)
	good := connectVM(t, hv, "tap0", vmMAC(1))
	victim := connectVM(t, hv, "tap1", vmMAC(2))
	d := startDaemon(t, hv, dhcpv4Config(t))
	d.WriteBinding(t, "tap0", vmBinding(good, "192.0.2.70", "good"))
	d.WriteBinding(t, "tap1", vmBinding(victim, "192.0.2.71", "victim"))
	goodClient := rawClient(t, good, good.VMMAC)
	victimClient := rawClient(t, victim, victim.VMMAC)
	discover := dhcpRequest{Type: layers.DHCPMsgTypeDiscover}
	offers := func(ip string) func(*layers.DHCPv4) bool {
		return func(r *layers.DHCPv4) bool { return isOffer(r) && yourIP(r).String() == ip }
	}
	awaitReply(t, goodClient, discover, time.Now(), 2*time.Second, offers("192.0.2.70"))
	awaitReply(t, victimClient, discover, time.Now(), 2*time.Second, offers("192.0.2.71"))

	mac := vmMAC(3).String()
	hostile := []struct {
		file    string
		content string
		reason  []string // substrings of the logged error
	}{
		{"tapbadmac", "MAC=zz:zz\nIP=192.0.2.80\n", []string{"MAC", "zz:zz"}},
		{"tapbadip", "MAC=" + mac + "\nIP=192.0.2.300\n", []string{"IP", "192.0.2.300"}},
		{"tapescape", "MAC=" + mac + "\nIP=192.0.2.81\nINDEV=../..\n", []string{"INDEV", "../.."}},
		{"tapnul", "MAC=" + mac + "\nIP=192.0.2.82\x00\nHOSTNAME=x\n", []string{"NUL byte"}},
		{"taphuge", "MAC=" + mac + "\nTAGS=" + strings.Repeat("A", 100000) + "\n", []string{"larger than 65536 bytes"}},
		{"taplongline", "MAC=" + mac + "\nHOSTNAME=" + strings.Repeat("h", 5000) + "\n", []string{"longer than 4096 bytes"}},
		{"tapbinary", "\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00garbage", []string{"tapbinary:1"}},
		// A good binding made bad must keep its previous content.
		{"tap1", "MAC=" + victim.VMMAC.String() + "\nIP=not-an-address\n", []string{"keeping the previous binding", "not-an-address"}},
	}
	for _, h := range hostile {
		t.Run(h.file, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(d.Datapath, h.file), []byte(h.content), 0o644); err != nil {
				t.Fatalf("write %s: %v", h.file, err)
			}
			line := d.WaitLog(t, 2*time.Second, append([]string{"invalid", "/" + h.file}, h.reason...)...)
			t.Logf("refused with: %s", line)
			awaitReply(t, goodClient, discover, time.Now(), 2*time.Second, offers("192.0.2.70"))
		})
	}
	// The victim's broken rewrite left its previous binding in force.
	awaitReply(t, victimClient, discover, time.Now(), 2*time.Second, offers("192.0.2.71"))
	d.Stop(t)
}
