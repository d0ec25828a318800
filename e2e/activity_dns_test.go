package e2e

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// actHypervisor creates the activity tests' hypervisor namespace
// ("act-hv") with the capture rules.
func actHypervisor(t *testing.T, cmds ...string) *Netns {
	t.Helper()
	requirePrereqs(t, cmds...)
	hv := newNetns(t, "act-hv")
	installQueueRules(t, hv)
	return hv
}

// actConnectVM is connectVM with the VM namespace named for these tests
// ("act-vm"), and the VM interface's IPv6 sysctls (name=value) set
// before it comes up.
func actConnectVM(t *testing.T, hv *Netns, tap string, mac net.HardwareAddr, sysctls ...string) *Link {
	t.Helper()
	vm := newNetns(t, "act-vm")
	l := &Link{Tap: tap, VM: vm, VMIf: "eth0", VMMAC: mac}
	hv.Run(t, "ip", "link", "add", tap, "type", "veth", "peer", "name", l.VMIf, "netns", vm.Name)
	vm.Run(t, "ip", "link", "set", l.VMIf, "address", mac.String())
	for _, s := range sysctls {
		vm.Run(t, "sysctl", "-qw", "net.ipv6.conf."+l.VMIf+"."+s)
	}
	vm.Run(t, "ip", "link", "set", l.VMIf, "up")
	hv.Run(t, "ip", "link", "set", tap, "up")
	l.TapMAC = linkMAC(t, hv, tap)
	return l
}

// actSubnet6 is the IPv6 prefix of the activity tests' bindings.
const actSubnet6 = "2001:db8:1::/64"

func actEUI64(t *testing.T, mac net.HardwareAddr) netip.Addr {
	t.Helper()
	a, err := binding.EUI64(mac, netip.MustParsePrefix(actSubnet6))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// actBinding renders a dual-stack binding for the VM on l.
func actBinding(l *Link, ip, hostname string) string {
	return bindingFile("MAC", l.VMMAC.String(), "IP", ip, "SUBNET", testSubnet, "GATEWAY", testGateway,
		"SUBNET6", actSubnet6, "GATEWAY6", "2001:db8:1::1", "HOSTNAME", hostname)
}

// actDiscoverLatency sends a DISCOVER from l's VM and fails unless the
// OFFER comes within limit: DNS registration must never slow DHCP down.
func actDiscoverLatency(t *testing.T, l *Link, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	reply := discover(t, l, l.VMMAC, 2*time.Second)
	took := time.Since(start)
	if reply == nil || !isOffer(reply) {
		t.Fatalf("no OFFER within 2s")
	}
	if took > limit {
		t.Errorf("OFFER after %v, want under %v", took, limit)
	}
	return took
}

// waitDNS polls the server until every query gives its wanted answer, and
// returns how long that took; it fails the test after within.
func waitDNS(t *testing.T, s *namedServer, within time.Duration, want map[string]string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := map[string]string{}
		ok := true
		for q, w := range want {
			got[q] = s.dig(t, strings.Fields(q)...)
			if got[q] != w {
				ok = false
			}
		}
		took := time.Since(start)
		if ok {
			return took
		}
		if took > within {
			t.Fatalf("DNS after %v: got %q, want %q", within, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDNSRegistration runs the daemon against a real BIND 9 with a
// TSIG-keyed dynamic zone and reverse zones: a binding appearing gets A,
// AAAA and PTR records within 1 s, a changed address is updated, a
// binding going takes its records away; with BIND stopped the records of
// a new binding arrive once it is back, within the backoff; at start a
// name left by an earlier run is removed, never another host's; a wrong
// key gives a log line naming the key and the server's answer. DHCP
// answers keep their latency throughout.
func TestDNSRegistration(t *testing.T) {
	hv := actHypervisor(t, "named", "dig", "nsupdate", "tsig-keygen")
	named := startNamed(t, hv)
	l := actConnectVM(t, hv, "tap1", vmMAC(151))
	conf := defaultConfig(newDatapath(t))
	conf.set("dns", "server", actDNSServer)
	conf.set("dns", "zone", actZone)
	conf.set("dns", "reverse_zones", actRevZone4+", "+actRevZone6)
	conf.set("dns", "tsig_keyfile", named.keyFile)
	conf.set("dns", "owner", actDNSOwner)
	conf.set("dns", "ttl", "60")
	d := startDaemon(t, hv, conf)
	// Daemons restarted by a subtest belong to the whole test: a subtest's
	// cleanup would kill them when it ends.
	parent := t
	const latency = 250 * time.Millisecond
	eui := actEUI64(t, l.VMMAC).String()
	name1 := "vm1." + actZone + "."

	t.Run("appear", func(t *testing.T) {
		d.WriteBinding(t, "tap1", actBinding(l, "192.0.2.10", "vm1"))
		took := waitDNS(t, named, time.Second, map[string]string{
			"vm1." + actZone + " A":    "192.0.2.10",
			"vm1." + actZone + " AAAA": eui,
			"-x 192.0.2.10":            name1,
			"-x " + eui:                name1,
		})
		t.Logf("A, AAAA and PTR records published %v after the binding was written", took)
		if txt := named.dig(t, "vm1."+actZone, "TXT"); txt != `"nfdhcpd owner=`+actDNSOwner+`"` {
			t.Errorf("owner TXT = %s", txt)
		}
		actDiscoverLatency(t, l, latency)
	})
	t.Run("change", func(t *testing.T) {
		d.WriteBinding(t, "tap1", actBinding(l, "192.0.2.11", "vm1"))
		waitDNS(t, named, time.Second, map[string]string{
			"vm1." + actZone + " A": "192.0.2.11",
			"-x 192.0.2.11":         name1,
			"-x 192.0.2.10":         "",
		})
	})
	t.Run("go", func(t *testing.T) {
		d.RemoveBinding(t, "tap1")
		waitDNS(t, named, time.Second, map[string]string{
			"vm1." + actZone + " A":    "",
			"vm1." + actZone + " AAAA": "",
			"vm1." + actZone + " TXT":  "",
			"-x 192.0.2.11":            "",
			"-x " + eui:                "",
		})
	})
	t.Run("server-down", func(t *testing.T) {
		named.Stop(t)
		d.WriteBinding(t, "tap1", actBinding(l, "192.0.2.12", "vm2"))
		d.WaitLog(t, 2*time.Second, "DNS update failed", "TAP=tap1", "SERVER="+actDNSServer)
		actDiscoverLatency(t, l, latency)
		time.Sleep(2 * time.Second)
		named.Start(t)
		// Retries are 0.5, 1, 2, 4 s apart: down for about 2 s, the next
		// one comes at most 4 s after BIND is back.
		took := waitDNS(t, named, 5*time.Second, map[string]string{
			"vm2." + actZone + " A": "192.0.2.12",
			"-x 192.0.2.12":         "vm2." + actZone + ".",
		})
		t.Logf("records published %v after BIND came back", took)
	})
	t.Run("reconcile", func(t *testing.T) {
		d.Stop(t)
		d.RemoveBinding(t, "tap1")
		named.nsupdate(t, "update add other."+actZone+". 60 A 192.0.2.99\nupdate add other."+actZone+". 60 TXT \"nfdhcpd owner=elsewhere\"")
		d = startDaemon(parent, hv, conf)
		waitDNS(t, named, 3*time.Second, map[string]string{
			"vm2." + actZone + " A": "",
			"-x 192.0.2.12":         "",
		})
		if got := named.dig(t, "other."+actZone, "A"); got != "192.0.2.99" {
			t.Errorf("another host's name was touched: A = %q", got)
		}
		d.WaitLog(t, time.Second, "removed", "NAME=vm2."+actZone+".")
	})
	t.Run("wrong-key", func(t *testing.T) {
		d.Stop(t)
		wrong := conf.clone()
		delete(wrong["dns"], "tsig_keyfile")
		wrong.set("dns", "tsig_name", actKeyName)
		wrong.set("dns", "tsig_secret", "c2VjcmV0LXRoYXQtYmluZC1kb2VzLW5vdC1rbm93LTMyYnl0ZXM=")
		d = startDaemon(parent, hv, wrong)
		d.WriteBinding(t, "tap1", actBinding(l, "192.0.2.13", "vm3"))
		line := d.WaitLog(t, 2*time.Second, "DNS update failed", "KEY="+actKeyName+".")
		for _, want := range []string{"NOTAUTH", "BADSIG", actDNSServer} {
			if !strings.Contains(line, want) {
				t.Errorf("log line does not name %s: %s", want, line)
			}
		}
		actDiscoverLatency(t, l, latency)
		if got := named.dig(t, "vm3."+actZone, "A"); got != "" {
			t.Errorf("update with a wrong key was applied: A = %q", got)
		}
		metrics := actMetrics(t, wrong["general"]["control_socket"])
		if v := metricValue(metrics, `nfdhcpd_dns_names{state="failing"}`); v != 1 {
			t.Errorf("metrics show %v failing names, want 1", v)
		}
		if v := metricValue(metrics, `nfdhcpd_dns_updates_total{result="failed"}`); v < 1 {
			t.Errorf("metrics show %v failed updates", v)
		}
	})
	d.Stop(t)
}

// clone returns a deep copy of c.
func (c Config) clone() Config {
	out := Config{}
	for s, kv := range c {
		for k, v := range kv {
			out.set(s, k, v)
		}
	}
	return out
}
