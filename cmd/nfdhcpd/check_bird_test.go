package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With announce = bgp, check warns (without failing) until a BIRD answers
// on the configured control socket.
func TestCheckWarnsWithoutBIRD(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "bird.ctl")
	conf := filepath.Join(dir, "nfdhcpd.conf")
	datapath := filepath.Join(dir, "bindings")
	if err := os.Mkdir(datapath, 0o755); err != nil {
		t.Fatal(err)
	}
	text := "[general]\ndatapath = " + datapath + "\n[routing]\nenable_routing = yes\nannounce = bgp\nuplink = eth1\n" +
		"subnet = 192.0.2.0/24\ngateway = 198.51.100.0\nbird_socket = " + socket + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := runCheck([]string{"-c", conf}, &stdout, &stderr); err != nil {
			t.Fatalf("check failed: %v; output:\n%s", err, stdout.String())
		}
		return stdout.String()
	}
	if out := check(); !strings.Contains(out, "warning: [routing] announce = bgp but BIRD is not running") || !strings.Contains(out, socket) {
		t.Errorf("without BIRD, check output %q does not warn naming %s", out, socket)
	}

	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("0001 BIRD 2.0.12 ready.\n"))
			c.Close()
		}
	}()
	if out := check(); strings.Contains(out, "announce = bgp") {
		t.Errorf("with BIRD answering, check still warns:\n%s", out)
	}
}
