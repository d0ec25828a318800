package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// actVMAddrs returns the VM's IPv6 addresses on l that passed DAD, and
// those that failed it.
func actVMAddrs(t *testing.T, l *Link) (inUse, refused []string) {
	t.Helper()
	out, _ := l.VM.Try("ip", "-6", "-o", "addr", "show", "dev", l.VMIf)
	re := regexp.MustCompile(`inet6 ([0-9a-f:]+)/\d+ .*`)
	for _, line := range strings.Split(out, "\n") {
		m := re.FindStringSubmatch(line)
		switch {
		case m == nil:
		case strings.Contains(line, "dadfailed"):
			refused = append(refused, m[1])
		case !strings.Contains(line, "tentative"):
			inUse = append(inUse, m[1])
		}
	}
	return inUse, refused
}

// TestLeaseActivityStatus checks that `nfdhcpd status` tells what the VM
// did after udhcpc (host name, vendor class, ACKed address), dhclient -6
// (its DUID) and the kernel's SLAAC: the VM's real IPv6 addresses, EUI-64
// or not, learned from its DAD probes, and an address configured without
// DAD learned from the solicitation for the router the VM sends from it.
// The binding names a static address
// that is not the EUI-64 one, which the VM configures; the SLAAC EUI-64
// address and a privacy address are answered as taken by the host (it
// stands in for the rest of the prefix), so the VM does not use them and
// the status must not show them. The lease events are logged at INFO with
// the TAP.
func TestLeaseActivityStatus(t *testing.T) {
	hv := actHypervisor(t, "udhcpc", "dhclient")
	l := actConnectVM(t, hv, "tap1", vmMAC(154), "use_tempaddr=2")
	conf := defaultConfig(newDatapath(t))
	conf.set("ipv6", "mode", "slaac+dhcpv6")
	conf.set("ipv6", "ra_period", "1")
	socket := conf["general"]["control_socket"]
	d := startDaemon(t, hv, conf)
	const static = "2001:db8:1::abcd"
	// extra is an address of the VM's (IPS6) it configures without DAD:
	// only its solicitations for the router, sent from it, tell the host.
	const extra = "2001:db8:1::11"
	d.WriteBinding(t, "tap1", actBinding(l, "192.0.2.10", "vm-status")+"EUI64="+static+"\nIPS6="+extra+"\n")
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap1")
	// The VM "boots" now that its binding exists: its interface comes up
	// again and probes its link-local address.
	l.VM.Run(t, "ip", "link", "set", l.VMIf, "down")
	l.VM.Run(t, "ip", "link", "set", l.VMIf, "up")
	l.VM.Run(t, "ip", "addr", "add", static+"/64", "dev", l.VMIf)
	v6WaitLinkLocal(t, l)

	if _, err := runUdhcpc(t, l, "-x", "hostname:guest-status", "-V", "status-vendor"); err != nil {
		t.Fatal(err)
	}
	v6RunDhclient(t, l, 10*time.Second, []string{"-S"}, "dns=")
	slaac := actEUI64(t, l.VMMAC).String()
	// The host answers the DAD probe of the SLAAC address: the VM drops
	// it (an autoconfigured address that fails DAD is deleted).
	d.WaitLog(t, 10*time.Second, `REPLY="neighbor advertisement"`, "TAP=tap1")
	var vmAddrs, refused []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		vmAddrs, refused = actVMAddrs(t, l)
		if slices.Contains(vmAddrs, static) && !slices.Contains(vmAddrs, slaac) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the VM has not settled on %s without %s: in use %v", static, slaac, vmAddrs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	refused = append(refused, slaac)
	l.VM.Run(t, "ip", "addr", "add", extra+"/64", "dev", l.VMIf, "nodad")
	l.VM.Run(t, "ip", "neigh", "flush", "dev", l.VMIf)
	// The ping's first packet waits for the router's link-layer address:
	// the kernel solicits it from the packet's source. Whether a reply
	// comes back does not matter here (nothing routes it).
	_, _ = l.VM.Try(append(pingCommand(), "-6", "-c", "1", "-W", "1", "-I", extra, "2001:db8:1::1")...)
	vmAddrs = append(vmAddrs, extra)
	t.Logf("VM addresses in use %v, refused by DAD %v", vmAddrs, refused)

	var seen []string
	deadline = time.Now().Add(5 * time.Second)
	for {
		s := actReadStatus(t, socket)
		if len(s.Bindings) != 1 || s.Bindings[0].Activity == nil {
			t.Fatalf("status has no activity for tap1: %+v", s.Bindings)
		}
		a := s.Bindings[0].Activity
		seen = seen[:0]
		for _, x := range a.Seen6 {
			seen = append(seen, x.Address)
			if x.Address == extra && x.How != "ns" {
				t.Errorf("%s learned by %s, want ns (it made no DAD probe)", extra, x.How)
			}
		}
		missing := false
		for _, want := range vmAddrs {
			if !slices.Contains(seen, want) {
				missing = true
			}
		}
		for _, bad := range refused {
			if slices.Contains(seen, bad) {
				t.Fatalf("status shows %s, an address the VM gave up after DAD: %v", bad, seen)
			}
		}
		if !missing {
			if a.ClientHostname != "guest-status" || a.VendorClass != "status-vendor" || a.LeaseIP != "192.0.2.10" || a.DUID == "" || len(a.ParamList) == 0 {
				t.Errorf("activity = %+v, want host name guest-status, vendor class status-vendor, lease 192.0.2.10, a DUID and a parameter list", *a)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status shows IPv6 addresses %v, the VM uses %v", seen, vmAddrs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	table, errOut, code := runNfdhcpd(t, "status", "-socket", socket)
	if code != 0 {
		t.Fatalf("nfdhcpd status: %s", errOut)
	}
	for _, want := range []string{"guest-status", "status-vendor", static, "CLIENT HOSTNAME"} {
		if !strings.Contains(table, want) {
			t.Errorf("nfdhcpd status does not show %q:\n%s", want, table)
		}
	}
	one, errOut, code := runNfdhcpd(t, "status", "-socket", socket, "tap1")
	if code != 0 {
		t.Fatalf("nfdhcpd status tap1: %s", errOut)
	}
	for _, want := range []string{"client hostname:", "guest-status", "vendor class:", "lease:", "192.0.2.10", "dhcpv6 duid:", static, "last dhcpv4 REQUEST"} {
		if !strings.Contains(one, want) {
			t.Errorf("nfdhcpd status tap1 does not show %q:\n%s", want, one)
		}
	}
	t.Logf("nfdhcpd status tap1:\n%s", one)
	d.WaitLog(t, time.Second, "level=INFO", `msg="VM configured"`, "TAP=tap1", "IP=192.0.2.10", "CLIENT_HOSTNAME=guest-status")
	d.WaitLog(t, time.Second, "level=INFO", `msg="new IPv6 address seen"`, "TAP=tap1", "IP6="+static)
	d.WaitLog(t, time.Second, "level=INFO", `msg="new IPv6 address seen"`, "TAP=tap1", "IP6="+extra, "HOW=ns")
	d.Stop(t)
}
