package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// TestRefusedDaemonLeavesNoRoutingState starts a daemon with the routing
// module on while another daemon already serves its control socket: it must
// exit with the reason and leave none of its routing state (rules, routes
// of its table, nftables table) in the namespace, since it never held what
// it needed to run.
func TestRefusedDaemonLeavesNoRoutingState(t *testing.T) {
	netnstest.RequireRoot(t)
	dir := t.TempDir()
	bin := buildDaemon(t, dir)
	ns := "nfd-excl-" + netnstest.RandomHex(4)
	netnstest.NewNamespace(t, ns)
	for _, dev := range []string{"up0", "tap0"} {
		netnstest.Run(t, "ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", dev+"p")
		netnstest.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
		netnstest.Run(t, "ip", "-n", ns, "link", "set", dev+"p", "up")
	}
	data := filepath.Join(dir, "bindings")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "tap0"),
		[]byte("MAC=aa:00:00:12:34:56\nIP=192.0.2.10\nSUBNET=192.0.2.0/24\nGATEWAY=192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "control")
	writeConf := func(name string, queue int, routing string) string {
		path := filepath.Join(dir, name)
		c := fmt.Sprintf("[general]\ndatapath = %s\ncontrol_socket = %s\n[dhcp]\ndhcp_queue = %d\n[ipv6]\nenable_ipv6 = no\n%s",
			data, socket, queue, routing)
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// The first daemon routes nothing; the second would route the subnet
	// through up0 and the binding through tap0, in table 4455.
	first := writeConf("first.conf", 4451, "")
	second := writeConf("second.conf", 4452, "[routing]\nenable_routing = yes\nrole = vmc\ntable = 4455\n"+
		"uplink = up0\nsubnet = 192.0.2.0/24\ngateway = 192.0.2.1\nantispoof = yes\n")

	var log netnstest.SyncBuffer
	startDaemon(t, &log, ns, bin, "-c", first)
	waitLog(t, &log, "ready to serve requests")

	start := time.Now()
	out, err := exec.Command("ip", "netns", "exec", ns, bin, "-c", second).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "another nfdhcpd is serving it") {
		t.Fatalf("second daemon: exit %d (%v), want 1 naming the served socket:\n%s", code, err, out)
	}
	t.Logf("second daemon refused in %v", time.Since(start).Round(time.Millisecond))
	if strings.Contains(string(out), "routing module started") {
		t.Errorf("the refused daemon started its routing module:\n%s", out)
	}
	state := map[string][]string{
		"rules":    {"ip", "-n", ns, "rule", "show"},
		"rules6":   {"ip", "-n", ns, "-6", "rule", "show"},
		"routes":   {"ip", "-n", ns, "route", "show", "table", "all"},
		"nftables": {"ip", "netns", "exec", ns, "nft", "list", "ruleset"},
	}
	for what, args := range state {
		got := netnstest.Run(t, args...)
		if strings.Contains(got, "4455") || strings.Contains(got, "192.0.2.") || strings.Contains(got, "nfdhcpd") {
			t.Errorf("the refused daemon left %s behind:\n%s", what, got)
		}
	}
}

// exitCode returns the exit status of a finished command's error: 0 for
// nil, -1 when it did not run.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
