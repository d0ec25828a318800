package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesRouterRoutes prints the router's routes to the bindings'
// prefixes, then has check refuse the later of two overlapping bindings,
// naming the first.
func TestRulesRouterRoutes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bindings")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte("[general]\ndatapath = "+data+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tap0", "MAC=52:54:00:00:00:01\nIP=192.0.2.10\nSUBNET6=2001:db8:1::/64\nROUTED4=198.51.100.16/28\nDELEGATED6=2001:db8:100::/56\n")
	write("tap1", "MAC=52:54:00:00:00:02\nIP=192.0.2.11\n")
	var stdout, stderr bytes.Buffer
	if err := runRules([]string{"-c", conf, "-router-routes", "eth1"}, &stdout, &stderr); err != nil {
		t.Fatalf("rules -router-routes: %v: %s", err, stderr.String())
	}
	want := "ip route replace 198.51.100.16/28 via 192.0.2.10 dev eth1  # tap0\n" +
		"ip -6 route replace 2001:db8:100::/56 via 2001:db8:1:0:5054:ff:fe00:1 dev eth1  # tap0\n"
	if stdout.String() != want {
		t.Errorf("rules -router-routes printed\n%s\nwant\n%s", stdout.String(), want)
	}

	write("tap2", "MAC=52:54:00:00:00:03\nIP=192.0.2.12\nIPS=198.51.100.20\n")
	stdout.Reset()
	err := runCheck([]string{"-c", conf}, &stdout, &stderr)
	if err == nil || !strings.Contains(stdout.String(), "tap2: IPS 198.51.100.20: invalid (overlaps ROUTED4 198.51.100.16/28 of binding tap0") {
		t.Errorf("check = %v, output:\n%s", err, stdout.String())
	}
}
