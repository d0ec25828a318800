package config

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// With announce = bgp, BIRDWarning warns until a BIRD answers on the
// configured control socket (nfdhcpd check prints it without failing).
func TestBIRDWarning(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "bird.ctl")
	rc := Routing{Enable: true, Announce: "bgp", BIRDSocket: socket}
	if w := BIRDWarning(rc); !strings.Contains(w, "[routing] announce = bgp but BIRD is not running") || !strings.Contains(w, socket) {
		t.Errorf("without BIRD, the warning %q does not say so naming %s", w, socket)
	}
	if w := BIRDWarning(Routing{Enable: true, Announce: "proxy", BIRDSocket: socket}); w != "" {
		t.Errorf("without announce = bgp, warning %q", w)
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
	if w := BIRDWarning(rc); w != "" {
		t.Errorf("with BIRD answering, still the warning %q", w)
	}
}

// BindingFiles leaves out what the daemon ignores (hidden, editor and
// package-manager files) and subdirectories, and sorts the rest.
func TestBindingFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tap2", "tap1", ".tap3", "tap4~", "tap5.tmp", "tap6.dpkg-new"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := BindingFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "tap1"), filepath.Join(dir, "tap2")}; !slices.Equal(got, want) {
		t.Errorf("BindingFiles = %q, want %q", got, want)
	}
	if _, err := BindingFiles(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "[general] datapath") {
		t.Errorf("a missing directory gave %v, want an error naming [general] datapath", err)
	}
}
