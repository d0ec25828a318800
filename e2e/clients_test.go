package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A clientLease is what a real DHCP client reported to its hook script, as
// the strings the client printed: dotted mask, space-separated lists, the
// lease time in seconds.
type clientLease struct {
	IP       string
	Mask     string
	Routers  string
	DNS      string
	Domain   string
	Hostname string
	MTU      string
	Lease    string
}

// The hook scripts below print one "key=value" line per field into a file
// whose path is baked into the script, because dhclient runs its script
// with an empty environment.

// readClientLease parses the key=value lines a hook script wrote.
func readClientLease(path string) (clientLease, error) {
	f, err := os.Open(path)
	if err != nil {
		return clientLease{}, err
	}
	defer f.Close()
	var l clientLease
	fields := map[string]*string{
		"ip": &l.IP, "mask": &l.Mask, "routers": &l.Routers, "dns": &l.DNS,
		"domain": &l.Domain, "hostname": &l.Hostname, "mtu": &l.MTU, "lease": &l.Lease,
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if p := fields[k]; ok && p != nil {
			*p = strings.Join(strings.Fields(v), " ")
		}
	}
	return l, sc.Err()
}

// writeHookScript writes an executable shell script that, when its event
// matches, prints the variables named in vars (field → shell expression)
// into out and exits 0.
func writeHookScript(t testing.TB, dir, event string, vars [][2]string, out string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n[ %s ] || exit 0\n{\n", event)
	for _, v := range vars {
		fmt.Fprintf(&b, "echo \"%s=%s\"\n", v[0], v[1])
	}
	fmt.Fprintf(&b, "} > %s.part && mv %s.part %s\nexit 0\n", out, out, out)
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte(b.String()), 0o755); err != nil {
		t.Fatalf("e2e: hook script: %v", err)
	}
	return script
}

// newLeaseVars maps the lease fields to the "new_*" variables that dhclient
// and dhcpcd both give their hook scripts.
func newLeaseVars() [][2]string {
	return [][2]string{
		{"ip", "$new_ip_address"}, {"mask", "$new_subnet_mask"}, {"routers", "$new_routers"},
		{"dns", "$new_domain_name_servers"}, {"domain", "$new_domain_name"},
		{"hostname", "$new_host_name"}, {"mtu", "$new_interface_mtu"}, {"lease", "$new_dhcp_lease_time"},
	}
}

// runUdhcpc runs busybox udhcpc once on the VM's interface: three discovers
// one second apart, then it gives up. Extra arguments (such as -r IP) are
// passed on.
func runUdhcpc(t testing.TB, l *Link, extra ...string) (clientLease, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	script := writeHookScript(t, dir, `"$1" = bound`, [][2]string{
		{"ip", "$ip"}, {"mask", "$subnet"}, {"routers", "$router"}, {"dns", "$dns"},
		{"domain", "$domain"}, {"hostname", "$hostname"}, {"mtu", "$mtu"}, {"lease", "$lease"},
	}, out)
	args := []string{"udhcpc", "-i", l.VMIf, "-f", "-q", "-n", "-t", "3", "-T", "1",
		"-s", script, "-O", "mtu", "-O", "domain", "-O", "hostname"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	output, err := l.VM.Command(ctx, append(args, extra...)...).CombinedOutput()
	t.Logf("udhcpc: %s", output)
	if err != nil {
		return clientLease{}, fmt.Errorf("udhcpc: %w", err)
	}
	return readClientLease(out)
}

// runDhclient runs ISC dhclient in the foreground with its own lease,
// pid and config files, waits for its BOUND hook call, and stops it. It
// gives up after a few seconds.
func runDhclient(t testing.TB, l *Link) (clientLease, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	script := writeHookScript(t, dir, `"$reason" = BOUND`, newLeaseVars(), out)
	if err := dhclientUntil(t, l, dir, `timeout 5;
retry 1;
initial-interval 1;
request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name,
	host-name, interface-mtu, dhcp-lease-time;
`, script, out); err != nil {
		return clientLease{}, err
	}
	return readClientLease(out)
}

// dhclientUntil runs ISC dhclient in the foreground with the configuration
// conf and its own lease, pid and config files in dir, until its hook
// script has written out; then it stops it. It gives up after a few
// seconds.
func dhclientUntil(t testing.TB, l *Link, dir, conf, script, out string) error {
	t.Helper()
	confPath := filepath.Join(dir, "dhclient.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("e2e: dhclient config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := l.VM.Command(ctx, "dhclient", "-1", "-d", "-v", "-sf", script,
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), "-cf", confPath, l.VMIf)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dhclient: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { t.Logf("dhclient: %s", output.String()) }()
	for {
		if _, err := os.Stat(out); err == nil {
			_ = cmd.Process.Kill()
			<-exited
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("dhclient exited without a lease: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runDhcpcd runs dhcpcd once (-1) for IPv4 only, without ARP probing, with
// an empty configuration plus the options requested here. dhcpcd keeps
// lease files in /var/lib/dhcpcd named after the interface, so the VM
// interface should have a name no other test uses; the file is removed
// afterwards.
func runDhcpcd(t testing.TB, l *Link) (clientLease, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "lease")
	script := writeHookScript(t, dir, `"$reason" = BOUND`, newLeaseVars(), out)
	defer os.Remove(filepath.Join("/var/lib/dhcpcd", l.VMIf+".lease"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	output, err := l.VM.Command(ctx, dhcpcdArgv("-B", "-1", "-4", "-A", "-L", "-t", "5",
		"-f", "/dev/null", "-c", script,
		"-o", "domain_name_servers,domain_name,host_name,interface_mtu,routers,subnet_mask",
		l.VMIf)...).CombinedOutput()
	t.Logf("dhcpcd: %s", output)
	if err != nil {
		return clientLease{}, fmt.Errorf("dhcpcd: %w", err)
	}
	return readClientLease(out)
}

// dhcpcdArgv returns the command line that runs dhcpcd with args in a
// private /run/dhcpcd and /var/lib/dhcpcd. dhcpcd keeps its control sockets
// and leases there, in the file system every namespace shares: without
// this, one test's dhcpcd may hand its work to another's ("sending commands
// to dhcpcd process"). ip netns exec already runs the command in a mount
// namespace of its own that does not propagate back, so the tmpfs mounts
// vanish with the client.
func dhcpcdArgv(args ...string) []string {
	const isolate = `mkdir -p /run/dhcpcd /var/lib/dhcpcd &&
mount -t tmpfs nfdhcpd-e2e /run/dhcpcd &&
mount -t tmpfs nfdhcpd-e2e /var/lib/dhcpcd &&
exec dhcpcd "$@"`
	return append([]string{"sh", "-c", isolate, "dhcpcd"}, args...)
}
