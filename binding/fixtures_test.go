package binding_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

const fixturesDir = "../fixtures/bindings"

// fixtureFiles lists the binding files of one fixture directory, leaving out
// the .reason files that describe them.
func fixtureFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(fixturesDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".reason") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return names
}

func TestGoodFixtures(t *testing.T) {
	for _, name := range fixtureFiles(t, "good") {
		t.Run(name, func(t *testing.T) {
			b, err := binding.ParseFile(filepath.Join(fixturesDir, "good", name))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if b.Name != name || b.MAC == nil {
				t.Errorf("ParseFile = %+v, want name %q and a MAC", b, name)
			}
		})
	}
}

func TestBadFixtures(t *testing.T) {
	for _, name := range fixtureFiles(t, "bad") {
		t.Run(name, func(t *testing.T) {
			reason, err := os.ReadFile(filepath.Join(fixturesDir, "bad", name+".reason"))
			if err != nil {
				t.Fatalf("every bad fixture needs a .reason file: %v", err)
			}
			want := strings.TrimSpace(string(reason))
			_, err = binding.ParseFile(filepath.Join(fixturesDir, "bad", name))
			if err == nil {
				t.Fatalf("ParseFile accepted a bad fixture, want an error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseFile error %q does not contain %q", err, want)
			}
		})
	}
}

// TestFixtureDetails pins the values of a few good fixtures, so that a
// parser that accepted everything and understood nothing would fail.
func TestFixtureDetails(t *testing.T) {
	tests := []struct {
		file  string
		check func(b binding.Binding) bool
	}{
		{"bridged", func(b binding.Binding) bool { return b.Indev == "br0" && b.IP.String() == "198.51.100.23" }},
		{"ipv6only", func(b binding.Binding) bool {
			return !b.HasIPv4() && b.HasIPv6() && b.EUI64.String() == "2001:db8:42:0:5054:ff:feab:cdef"
		}},
		{"ganeti", func(b binding.Binding) bool {
			return b.Tags == "synnefo:network:1 ip-pool" && !b.HasIPv6() && b.Indev == "br100"
		}},
		{"private", func(b binding.Binding) bool { return b.Private && !b.MACSpoof }},
		{"macspoof", func(b binding.Binding) bool { return b.MACSpoof && !b.Private }},
		{"mtu", func(b binding.Binding) bool { return b.MTU == 9000 }},
		{"quoted", func(b binding.Binding) bool {
			return b.Tags == `web "front" it's` && b.Hostname == "vm8" && b.Table == "100" && !b.Gateway.IsValid()
		}},
		{"routed", func(b binding.Binding) bool {
			return b.Table == "rt_vms" && b.Uplink == "eth0" && b.Uplink6 == "eth1" && b.Indev == b.Name
		}},
		{"crlf", func(b binding.Binding) bool { return b.IP.String() == "192.0.2.10" }},
		{"profile", func(b binding.Binding) bool {
			p := &b.Profile
			// DOMAIN= at the end unsets the domain, default included.
			return p.Has(profile.KeyDomain) && p.Domain == "" && !p.Has("TAGS") &&
				len(p.Routes) == 2 && p.Routes[1].Via.String() == "192.0.2.254" &&
				len(p.Search.Names) == 3 && p.IPv6Mode == profile.ModeDHCPv6 &&
				p.BootfileURL6.URL == "tftp://[2001:db8::5]/grubx64.efi" && len(p.BootfileURL6.Params) == 1 &&
				p.IPv6Only == 1800*time.Second && len(p.DHCPOptions) == 2 && p.NextServer.String() == "192.0.2.5"
		}},
	}
	for _, tt := range tests {
		b, err := binding.ParseFile(filepath.Join(fixturesDir, "good", tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if !tt.check(b) {
			t.Errorf("%s: unexpected binding %+v", tt.file, b)
		}
	}
}

func TestParseFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tap0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := binding.ParseFile(filepath.Join(dir, "tap0")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ParseFile of a directory = %v, want a not-a-regular-file error", err)
	}
}

func TestParseFileRefusesFIFOWithoutBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tap0")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("skipping: cannot make a FIFO: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := binding.ParseFile(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("ParseFile of a FIFO = %v, want a not-a-regular-file error", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ParseFile blocked on a FIFO")
	}
}
