package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// The IPv6 values of these tests: the prefix and gateway come from the
// binding, DNS and search domain from defaultConfig.
const (
	v6Subnet  = "2001:db8:1::/64"
	v6Gateway = "2001:db8:1::1"
	v6DNS     = "2001:db8:53::1"
	v6Domain  = "example.org"
	v6MTU     = "1450"
	// v6RAPeriod is short so that an unsolicited RA shows up quickly.
	v6RAPeriod = 2 * time.Second
)

// v6Config is the default config in the given IPv6 mode with a short RA
// period.
func v6Config(t testing.TB, mode string) Config {
	c := defaultConfig(newDatapath(t))
	c.set("ipv6", "mode", mode)
	if mode == "slaac" {
		// The daemon opens the default DHCPv6 queue in slaac mode too (for
		// bindings with IPV6_MODE); the harness need not wait for it.
		delete(c["ipv6"], "dhcpv6_queue")
	}
	c.set("ipv6", "ra_period", fmt.Sprint(int(v6RAPeriod/time.Second)))
	return c
}

// v6Binding renders an IPv6-only binding file for the VM on l.
func v6Binding(l *Link, extra ...string) string {
	return bindingFile(append([]string{
		"MAC", l.VMMAC.String(), "SUBNET6", v6Subnet, "GATEWAY6", v6Gateway, "MTU", v6MTU,
	}, extra...)...)
}

// v6EUI64 is the address SLAAC and stateful DHCPv6 must give the VM on l.
func v6EUI64(t testing.TB, l *Link) netip.Addr {
	t.Helper()
	a, err := binding.EUI64(l.VMMAC, netip.MustParsePrefix(v6Subnet))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// v6Start creates a hypervisor with one VM on tap0, binds it with the given
// binding content (nil: v6Binding) and starts the daemon.
func v6Start(t *testing.T, mode string, content func(*Link) string, cmds ...string) (*Daemon, *Link) {
	t.Helper()
	hv := newHypervisor(t, cmds...)
	l := connectVM(t, hv, "tap0", vmMAC(60))
	v6WaitLinkLocal(t, l)
	d := startDaemon(t, hv, v6Config(t, mode))
	if content == nil {
		content = func(l *Link) string { return v6Binding(l) }
	}
	d.WriteBinding(t, "tap0", content(l))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")
	return d, l
}

// v6WaitLinkLocal waits until the VM's link-local address has passed DAD:
// clients cannot send from a tentative address.
func v6WaitLinkLocal(t testing.TB, l *Link) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := l.VM.Try("ip", "-6", "addr", "show", "dev", l.VMIf, "scope", "link")
		if strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: VM link-local address not ready: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// v6Field returns the value rdisc6/ndisc6 print after "name ... :" on the
// first matching line, or "" when there is none.
func v6Field(out, name string) string {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*:\s*(.*?)\s*$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// An rdisc6Result is what the tests check of an advertisement rdisc6 saw.
type rdisc6Result struct {
	Managed, Other string
	RouterLifetime string
	Prefix         string
	OnLink, Auto   string
	MTU            string
	DNS            string
	Search         string
	SourceLL       string
	From           string
}

func parseRdisc6(out string) rdisc6Result {
	from := ""
	if m := regexp.MustCompile(`(?m)^\s*from (\S+)`).FindStringSubmatch(out); m != nil {
		from = m[1]
	}
	return rdisc6Result{
		Managed:        v6Field(out, "Stateful address conf."),
		Other:          v6Field(out, "Stateful other conf."),
		RouterLifetime: v6Field(out, "Router lifetime"),
		Prefix:         v6Field(out, "Prefix"),
		OnLink:         v6Field(out, "On-link"),
		Auto:           v6Field(out, "Autonomous address conf."),
		MTU:            v6Field(out, "MTU"),
		DNS:            v6Field(out, "Recursive DNS server"),
		Search:         v6Field(out, "DNS search list"),
		SourceLL:       strings.ToLower(v6Field(out, "Source link-layer address")),
		From:           from,
	}
}

// runRdisc6 solicits a router from the VM and returns rdisc6's report of
// the first advertisement.
func runRdisc6(t testing.TB, l *Link, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"rdisc6", "-1", "-n", "-r", "3", "-w", "1000"}, extra...)
	out, err := l.VM.Command(ctx, append(args, l.VMIf)...).CombinedOutput()
	return string(out), err
}

// runNdisc6 resolves target from the VM; it returns the link-layer address
// ndisc6 reports, or an error when nobody answered.
func runNdisc6(t testing.TB, l *Link, target string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := l.VM.Command(ctx, "ndisc6", "-1", "-n", "-r", "2", "-w", "500", target, l.VMIf).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ndisc6 %s: %w: %s", target, err, out)
	}
	return strings.ToLower(v6Field(string(out), "Target link-layer address")), nil
}

// TestIPv6RouterAdvertisement has rdisc6 solicit the router of an IPv6-only
// binding and checks every field of the answer, then that the VM's kernel
// formed its EUI-64 address by SLAAC (DAD for it was not answered), and
// that unsolicited advertisements arrive every ra_period.
func TestIPv6RouterAdvertisement(t *testing.T) {
	d, l := v6Start(t, "slaac+dhcpv6", nil, "rdisc6", "tcpdump")
	ll, err := binding.LinkLocal(l.TapMAC)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runRdisc6(t, l)
	if err != nil {
		t.Fatalf("rdisc6: %v\n%s", err, out)
	}
	want := rdisc6Result{
		Managed: "No", Other: "Yes", RouterLifetime: "6 (0x00000006) seconds",
		Prefix: v6Subnet, OnLink: "Yes", Auto: "Yes", MTU: v6MTU + " bytes (valid)",
		DNS: v6DNS, Search: v6Domain, SourceLL: l.TapMAC.String(), From: ll.String(),
	}
	if diff := cmp.Diff(want, parseRdisc6(out)); diff != "" {
		t.Errorf("rdisc6 (-want +got):\n%s\n%s", diff, out)
	}

	t.Run("SLAAC address is the EUI-64", func(t *testing.T) {
		eui := v6EUI64(t, l).String()
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, _ := l.VM.Try("ip", "-6", "addr", "show", "dev", l.VMIf, "scope", "global")
			if strings.Contains(out, eui+"/64") && !strings.Contains(out, "tentative") {
				if strings.Contains(out, "dadfailed") {
					t.Fatalf("DAD of the VM's own address failed: %s", out)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("VM has no SLAAC address %s: %s", eui, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("unsolicited advertisements every ra_period", func(t *testing.T) {
		// Solicited answers go to the VM's link-local address; only the
		// periodic ones go to all nodes.
		ctx, cancel := context.WithTimeout(context.Background(), 3*v6RAPeriod+2*time.Second)
		defer cancel()
		start := time.Now()
		out, err := l.VM.Command(ctx, "tcpdump", "-n", "-l", "-i", l.VMIf, "-c", "2",
			"icmp6 and ip6[40] == 134 and dst host ff02::1").CombinedOutput()
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("no two unsolicited advertisements within %v: %v\n%s", 3*v6RAPeriod+2*time.Second, err, out)
		}
		// Two in a row take one period, plus tcpdump's start-up.
		if elapsed > 2*v6RAPeriod+time.Second {
			t.Errorf("two unsolicited advertisements took %v, want about %v", elapsed, v6RAPeriod)
		}
	})
	d.Stop(t)
}

// TestIPv6RouterAdvertisementModes checks the flags of the other modes and
// of a PRIVATE binding.
func TestIPv6RouterAdvertisementModes(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		extra   []string
		want    func(r *rdisc6Result)
		wantLog string
	}{
		{name: "slaac", mode: "slaac", want: func(r *rdisc6Result) { r.Other = "No" }},
		{name: "dhcpv6", mode: "dhcpv6", want: func(r *rdisc6Result) { r.Managed, r.Auto = "Yes", "No" }},
		{name: "private", mode: "slaac+dhcpv6", extra: []string{"PRIVATE", "yes"}, want: func(r *rdisc6Result) {
			r.RouterLifetime = "0 (0x00000000) seconds"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, l := v6Start(t, tt.mode, func(l *Link) string { return v6Binding(l, tt.extra...) }, "rdisc6")
			out, err := runRdisc6(t, l)
			if err != nil {
				t.Fatalf("rdisc6: %v\n%s", err, out)
			}
			ll, _ := binding.LinkLocal(l.TapMAC)
			want := rdisc6Result{
				Managed: "No", Other: "Yes", RouterLifetime: "6 (0x00000006) seconds",
				Prefix: v6Subnet, OnLink: "Yes", Auto: "Yes", MTU: v6MTU + " bytes (valid)",
				DNS: v6DNS, Search: v6Domain, SourceLL: l.TapMAC.String(), From: ll.String(),
			}
			tt.want(&want)
			if diff := cmp.Diff(want, parseRdisc6(out)); diff != "" {
				t.Errorf("rdisc6 (-want +got):\n%s\n%s", diff, out)
			}
			d.Stop(t)
		})
	}
}

// TestIPv6NeighborDiscovery has ndisc6 resolve the gateway, another address
// of the prefix and the router's link-local address to the TAP's MAC, and
// get no answer for an address outside the prefix.
func TestIPv6NeighborDiscovery(t *testing.T) {
	d, l := v6Start(t, "slaac", nil, "ndisc6")
	ll, _ := binding.LinkLocal(l.TapMAC)
	for _, target := range []string{v6Gateway, "2001:db8:1::99", ll.String()} {
		got, err := runNdisc6(t, l, target)
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		if got != l.TapMAC.String() {
			t.Errorf("%s resolved to %s, want the TAP's %s", target, got, l.TapMAC)
		}
	}
	for _, target := range []string{"2001:db8:2::1", v6EUI64(t, l).String()} {
		if got, err := runNdisc6(t, l, target); err == nil {
			t.Errorf("%s (not the host's) resolved to %s, want no answer", target, got)
		}
	}
	d.Stop(t)
}

// TestIPv6DuplicateAddressDetection adds the VM's own address and another
// address of the prefix by hand: DAD for its own succeeds (the daemon keeps
// quiet), DAD for the other fails (the host owns it).
func TestIPv6DuplicateAddressDetection(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(62))
	// No SLAAC: the test adds the addresses itself.
	l.VM.Run(t, "sysctl", "-qw", "net.ipv6.conf."+l.VMIf+".accept_ra=0")
	v6WaitLinkLocal(t, l)
	d := startDaemon(t, hv, v6Config(t, "slaac"))
	d.WriteBinding(t, "tap0", v6Binding(l))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")
	own := v6EUI64(t, l).String()
	other := "2001:db8:1::99"
	l.VM.Run(t, "ip", "addr", "add", own+"/64", "dev", l.VMIf)
	l.VM.Run(t, "ip", "addr", "add", other+"/64", "dev", l.VMIf)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := l.VM.Run(t, "ip", "-6", "addr", "show", "dev", l.VMIf, "scope", "global")
		ownLine, otherLine := v6AddrLine(out, own), v6AddrLine(out, other)
		if !strings.Contains(ownLine, "tentative") && strings.Contains(otherLine, "dadfailed") {
			if strings.Contains(ownLine, "dadfailed") {
				t.Fatalf("DAD failed for the VM's own address: %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %s usable and %s dadfailed:\n%s", own, other, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.Stop(t)
}

// v6AddrLine returns the line of `ip addr` output that shows addr, with the
// flags line that follows it.
func v6AddrLine(out, addr string) string {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if strings.Contains(line, " "+addr+"/") {
			return strings.Join(lines[i:min(i+2, len(lines))], " ")
		}
	}
	return ""
}

// v6DhclientScript writes a dhclient script that appends one line per call:
// the reason and the DHCPv6 variables the tests check.
func v6DhclientScript(t testing.TB, dir string) (script, log string) {
	t.Helper()
	log = filepath.Join(dir, "calls")
	script = filepath.Join(dir, "script.sh")
	body := fmt.Sprintf("#!/bin/sh\necho \"reason=$reason addr=$new_ip6_address/$new_ip6_prefixlen pref=$new_preferred_life valid=$new_max_life dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search\" >> %s\nexit 0\n", log)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

// v6RunDhclient runs dhclient -6 with args in the foreground until a line
// of its script log matches every one of until, or the timeout passes; it
// returns the script log.
func v6RunDhclient(t testing.TB, l *Link, timeout time.Duration, args []string, until ...string) string {
	t.Helper()
	dir := t.TempDir()
	script, log := v6DhclientScript(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append([]string{"dhclient", "-6", "-d", "-v", "-sf", script,
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid")}, args...)
	cmd := l.VM.Command(ctx, append(argv, l.VMIf)...)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("dhclient: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
		t.Logf("dhclient: %s", output.String())
	}()
	found := func() (string, bool) {
		calls, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(calls), "\n") {
			if containsAll(line, until) {
				return string(calls), true
			}
		}
		return string(calls), false
	}
	for {
		if calls, ok := found(); ok {
			return calls
		}
		select {
		case <-exited:
			// dhclient -S exits right after its script call.
			calls, ok := found()
			if !ok {
				t.Fatalf("dhclient ended before %q; script calls:\n%s", until, calls)
			}
			return calls
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestIPv6DHCPv6Stateless has dhclient -6 -S fetch the DNS servers and the
// search list with an Information-Request.
func TestIPv6DHCPv6Stateless(t *testing.T) {
	d, l := v6Start(t, "slaac+dhcpv6", nil, "dhclient")
	// dhclient 4.4 reports an Information-Request's answer as RENEW6.
	calls := v6RunDhclient(t, l, 10*time.Second, []string{"-S"}, "dns=")
	if !strings.Contains(calls, "dns="+v6DNS+" ") || !strings.Contains(calls, "search="+v6Domain+".") {
		t.Errorf("dhclient -S got no DNS %s and search %s:\n%s", v6DNS, v6Domain, calls)
	}
	d.Stop(t)
}

// TestIPv6DHCPv6Stateful has dhclient -6 obtain the EUI-64 address with the
// configured lifetimes, then renew it after T1 (lease_renewal).
func TestIPv6DHCPv6Stateful(t *testing.T) {
	hv := newHypervisor(t, "dhclient")
	l := connectVM(t, hv, "tap0", vmMAC(61))
	v6WaitLinkLocal(t, l)
	conf := v6Config(t, "dhcpv6")
	conf.set("dhcp", "lease_lifetime", "60")
	conf.set("dhcp", "lease_renewal", "2")
	d := startDaemon(t, hv, conf)
	d.WriteBinding(t, "tap0", v6Binding(l))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")

	eui := v6EUI64(t, l).String()
	calls := v6RunDhclient(t, l, 15*time.Second, nil, "reason=RENEW6")
	bound := regexp.MustCompile(`(?m)^reason=BOUND6 .*$`).FindString(calls)
	want := fmt.Sprintf("reason=BOUND6 addr=%s/128 pref=60 valid=60 dns=%s search=%s.", eui, v6DNS, v6Domain)
	if diff := cmp.Diff(want, strings.TrimSpace(bound)); diff != "" {
		t.Errorf("dhclient -6 binding (-want +got):\n%s\nall calls:\n%s", diff, calls)
	}
	if !strings.Contains(calls, "reason=RENEW6 addr="+eui+"/128") {
		t.Errorf("dhclient -6 did not renew %s:\n%s", eui, calls)
	}
	d.Stop(t)
}

// TestIPv6AndIPv4OnlyBindings checks that an IPv4-only binding gets no
// router advertisement while its DHCPv4 keeps working, next to an
// IPv6-only binding that gets both RA and neighbor answers.
func TestIPv6AndIPv4OnlyBindings(t *testing.T) {
	hv := newHypervisor(t, "rdisc6", "udhcpc")
	v4 := connectVM(t, hv, "tap4", vmMAC(64))
	v6 := connectVM(t, hv, "tap6", vmMAC(66))
	v6WaitLinkLocal(t, v4)
	v6WaitLinkLocal(t, v6)
	conf := v6Config(t, "slaac")
	conf.set("dhcp", "lease_lifetime", testLease)
	d := startDaemon(t, hv, conf)
	d.WriteBinding(t, "tap4", vmBinding(v4, "192.0.2.44", "vm4"))
	d.WriteBinding(t, "tap6", v6Binding(v6))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap4")
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap6")

	if out, err := runRdisc6(t, v4, "-r", "1"); err == nil {
		t.Errorf("IPv4-only binding got a router advertisement:\n%s", out)
	}
	lease, err := runUdhcpc(t, v4)
	if err != nil || lease.IP != "192.0.2.44" {
		t.Errorf("IPv4-only binding: udhcpc got %+v, %v", lease, err)
	}
	if out, err := runRdisc6(t, v6); err != nil || parseRdisc6(out).Prefix != v6Subnet {
		t.Errorf("IPv6-only binding: rdisc6 %v:\n%s", err, out)
	}
	if mac, err := runNdisc6(t, v6, v6Gateway); err != nil || mac != v6.TapMAC.String() {
		t.Errorf("IPv6-only binding: gateway resolved to %q, %v", mac, err)
	}
	d.Stop(t)
}

// TestIPv6Dhcpcd has dhcpcd configure the VM from the RA and DHCPv6: in
// dhcpv6 mode it leases the EUI-64 address, in slaac+dhcpv6 mode it forms
// the address itself and asks only for DNS servers and search list.
func TestIPv6Dhcpcd(t *testing.T) {
	tests := []struct {
		mode   string
		reason string
	}{
		{"dhcpv6", "BOUND6"},
		{"slaac+dhcpv6", "INFORM6"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			hv := newHypervisor(t, "dhcpcd")
			// dhcpcd keeps lease files named after the interface outside the
			// namespace: give it a name no other test uses.
			vmIf := "e6" + uniqueSuffix(t)[len(uniqueSuffix(t))-6:]
			l := connectVMNamed(t, hv, "tap0", vmIf, vmMAC(63))
			defer os.Remove(filepath.Join("/var/lib/dhcpcd", vmIf+".lease6"))
			v6WaitLinkLocal(t, l)
			d := startDaemon(t, hv, v6Config(t, tt.mode))
			d.WriteBinding(t, "tap0", v6Binding(l))
			d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")

			dir := t.TempDir()
			out := filepath.Join(dir, "calls")
			script := filepath.Join(dir, "hook.sh")
			body := fmt.Sprintf("#!/bin/sh\necho \"reason=$reason addr=$new_dhcp6_ia_na1_ia_addr1 dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search\" >> %s\nexit 0\n", out)
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			// dhcpcd -1 may exit before running the hook of its last event, so
			// it runs until the wanted call shows up.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := l.VM.Command(ctx, dhcpcdArgv("-B", "-6", "-t", "10", "-f", "/dev/null", "-c", script,
				"-o", "dhcp6_name_servers,dhcp6_domain_search", vmIf)...)
			var output strings.Builder
			cmd.Stdout, cmd.Stderr = &output, &output
			if err := cmd.Start(); err != nil {
				t.Fatalf("dhcpcd: %v", err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			wanted := regexp.MustCompile(`(?m)^reason=` + tt.reason + ` .*$`)
			var calls []byte
			line := ""
			for line == "" {
				calls, _ = os.ReadFile(out)
				line = wanted.FindString(string(calls))
				if line != "" {
					break
				}
				select {
				case <-exited:
					calls, _ = os.ReadFile(out)
					line = wanted.FindString(string(calls))
					if line == "" {
						t.Fatalf("dhcpcd ended without %s:\n%s\ncalls:\n%s", tt.reason, output.String(), calls)
					}
				case <-time.After(50 * time.Millisecond):
				}
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(3 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			t.Logf("dhcpcd: %s", output.String())
			addr := ""
			if tt.mode == "dhcpv6" {
				addr = v6EUI64(t, l).String()
			}
			want := fmt.Sprintf("reason=%s addr=%s dns=%s search=%s", tt.reason, addr, v6DNS, v6Domain)
			if diff := cmp.Diff(want, strings.TrimSpace(line)); diff != "" {
				t.Errorf("dhcpcd (-want +got):\n%s\nall calls:\n%s", diff, calls)
			}
			d.Stop(t)
		})
	}
}

// TestIPv6PromptRA restarts a VM's IPv6 while the daemon serves its TAP. The kernel's DAD probe of its new link-local address makes the
// daemon advertise at once, so the VM forms its global address while the
// link-local one is still tentative: the two DADs run side by side. With
// only the RS to go by, the global address could not exist before the
// link-local one passed DAD (the RS waits for it).
func TestIPv6PromptRA(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(63))
	v6WaitLinkLocal(t, l)
	// Periodic RAs far apart, so that only the prompt one can come early.
	conf := v6Config(t, "slaac")
	conf.set("ipv6", "ra_period", "600")
	d := startDaemon(t, hv, conf)
	d.WriteBinding(t, "tap0", v6Binding(l))
	d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap0")
	global := v6EUI64(t, l).String()

	// The RA sent when the binding appeared gave the VM its address.
	// Turning IPv6 off and on again takes every address away and starts
	// over, as a booting guest does, without the TAP's carrier going down
	// and up (which would make the TAP new to the daemon, and worth an
	// RA of its own).
	sysctl := "net.ipv6.conf." + l.VMIf + ".disable_ipv6"
	l.VM.Run(t, "sysctl", "-qw", sysctl+"=1")
	for deadline := time.Now().Add(2 * time.Second); ; {
		out, _ := l.VM.Try("ip", "-6", "addr", "show", "dev", l.VMIf)
		if !strings.Contains(out, global) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there with IPv6 off:\n%s", global, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	linkLocal, err := binding.EUI64(l.VMMAC, netip.MustParsePrefix("fe80::/64"))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	l.VM.Run(t, "sysctl", "-qw", sysctl+"=0")
	var whileTentative, usable time.Duration
	for deadline := began.Add(6 * time.Second); ; {
		out, _ := l.VM.Try("ip", "-6", "addr", "show", "dev", l.VMIf)
		ll := v6AddrLine(out, linkLocal.String())
		g := v6AddrLine(out, global)
		if g != "" && whileTentative == 0 && strings.Contains(ll, "tentative") {
			whileTentative = time.Since(began)
			t.Logf("%v after IPv6 on:\n%s", whileTentative, out)
		}
		if g != "" && !strings.Contains(g, "tentative") {
			usable = time.Since(began)
			t.Logf("%v after IPv6 on:\n%s", usable, out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usable global address %s 6s after IPv6 on:\n%s", global, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("global address formed while the link-local was tentative: %v after IPv6 on (0: not so); usable after %v", whileTentative, usable)
	if whileTentative == 0 {
		t.Errorf("the global address appeared only after the link-local passed DAD: no prompt RA")
	}
	d.WaitLog(t, time.Second, "sent prompt router advertisement", "TAP=tap0")
	d.Stop(t)
}
