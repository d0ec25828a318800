package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A dnsmasq is a second DHCP server in the hypervisor namespace, used to
// see which requests the daemon lets through.
type dnsmasq struct {
	logPath string
}

// startDnsmasq runs dnsmasq as a DHCP-only server bound to the given
// interfaces of ns (which need an address in each range), logging every
// DHCP exchange, until the test ends. args are passed on (the ranges).
func startDnsmasq(t testing.TB, ns *Netns, ifaceA, ifaceB string, args ...string) *dnsmasq {
	t.Helper()
	dir := t.TempDir()
	d := &dnsmasq{logPath: filepath.Join(dir, "dnsmasq.log")}
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatalf("e2e: dnsmasq log: %v", err)
	}
	argv := append([]string{"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--bind-interfaces",
		"--interface=" + ifaceA, "--interface=" + ifaceB, "--user=root", "--log-dhcp", "--no-ping",
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "pid")}, args...)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, argv...)...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if out, err := os.ReadFile(d.logPath); err == nil {
			t.Logf("dnsmasq log:\n%s", out)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := d.saw("started"); ok {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: dnsmasq did not start within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// saw returns the first log line containing s.
func (d *dnsmasq) saw(s string) (string, bool) {
	out, err := os.ReadFile(d.logPath)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, s) {
			return line, true
		}
	}
	return "", false
}
