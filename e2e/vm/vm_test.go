package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

func TestParseResult(t *testing.T) {
	got := ParseResult("NFDVM-RESULT status=ok ip=192.0.2.41 mtu= dns=192.0.2.53,192.0.2.54 t=11.13")
	want := map[string]string{"status": "ok", "ip": "192.0.2.41", "mtu": "", "dns": "192.0.2.53,192.0.2.54", "t": "11.13"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseResult (-want +got):\n%s", diff)
	}
}

func TestCmdline(t *testing.T) {
	got := cmdline(map[string]string{"vm_ping4": "192.0.2.1", "vm_eui64": "2001:db8:1::1"})
	want := "console=ttyS0 quiet panic=-1 no_timer_check vm_eui64=2001:db8:1::1 vm_ping4=192.0.2.1"
	if got != want {
		t.Errorf("cmdline = %q, want %q", got, want)
	}
}

func TestConsoleEscapesRemoved(t *testing.T) {
	got := ansiEscape.ReplaceAllString("\x1bc\x1b[?7l\x1b[2J\x1b[0;1miPXE 1.0.0\x1b[0m -- boot", "")
	if got != "iPXE 1.0.0 -- boot" {
		t.Errorf("got %q", got)
	}
}

// TestModulesDecompressed checks that compressed modules (as newer Debian
// kernels ship them) are found and stored plain for busybox insmod.
func TestModulesDecompressed(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lib", "modules", "6.12.0-1-cloud-amd64", "kernel", "drivers", "net")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"virtio_net.ko": "plain module", "failover.ko.xz": "xz module"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(name, ".xz")), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".xz") {
			if _, err := exec.LookPath("xz"); err != nil {
				netnstest.MissingPrerequisite(t, "need xz: %v", err)
			}
			if out, err := exec.Command("xz", filepath.Join(dir, strings.TrimSuffix(name, ".xz"))).CombinedOutput(); err != nil {
				t.Fatalf("xz: %v: %s", err, out)
			}
		}
	}
	found, err := findModules(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"virtio_net", "failover"} {
		src, ok := found[m]
		if !ok {
			t.Fatalf("module %s not found in %v", m, found)
		}
		dst := filepath.Join(t.TempDir(), m+".ko")
		if err := decompressModule(src, dst); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		want := files[m+".ko"] + files[m+".ko.xz"]
		if string(got) != want {
			t.Errorf("%s stored as %q, want %q", m, got, want)
		}
	}
}
