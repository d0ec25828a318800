package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// fermForceExtractEnv, set to "extract", makes fermCommand use the
// unpacked package even where ferm is installed, to exercise that path.
const fermForceExtractEnv = "NFDHCPD_E2E_FERM"

// fermCommand returns the ferm program to run: the installed one, or else
// the script of the Debian package unpacked into a cache directory. ferm
// is never installed for the tests: the package's boot service would load
// its default rules into the host's own namespace. Unpacked, it is a perl
// script that only prints rules when run with --noexec --lines. When it
// cannot be obtained the test is skipped, or fails under CI=true.
func fermCommand(t *testing.T) string {
	t.Helper()
	if os.Getenv(fermForceExtractEnv) != "extract" {
		if path, err := exec.LookPath("ferm"); err == nil {
			return path
		}
	}
	for _, c := range []string{"apt-get", "dpkg-deb", "perl"} {
		if _, err := exec.LookPath(c); err != nil {
			netnstest.MissingPrerequisite(t, "ferm is not installed and %s, needed to unpack it, is missing: %v", c, err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "nfdhcpd-e2e", "ferm")
	script := filepath.Join(root, "usr", "sbin", "ferm")
	if _, err := os.Stat(script); err == nil {
		return script
	}

	download := t.TempDir()
	// apt runs its download as _apt, which cannot write into a root-owned
	// temporary directory: let it.
	if err := os.Chmod(download, 0o777); err != nil {
		t.Fatal(err)
	}
	fetch := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "download", "-qq", "ferm")
		cmd.Dir = download
		return cmd.CombinedOutput()
	}
	out, err := fetch()
	if err != nil {
		// A fresh system may have no package lists yet.
		if upd, uerr := exec.Command("apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			netnstest.MissingPrerequisite(t, "ferm is not installed and apt-get update failed: %v\n%s", uerr, upd)
		}
		if out, err = fetch(); err != nil {
			netnstest.MissingPrerequisite(t, "ferm is not installed and apt-get download ferm failed: %v\n%s", err, out)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(download, "ferm_*.deb"))
	if len(debs) != 1 {
		netnstest.MissingPrerequisite(t, "apt-get download ferm left %d packages in %s:\n%s", len(debs), download, out)
	}
	// Unpack next to the cache entry and rename it into place, so that an
	// interrupted run never leaves a half-unpacked script behind.
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), "ferm-unpack-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], tmp).CombinedOutput(); err != nil {
		netnstest.MissingPrerequisite(t, "dpkg-deb -x %s: %v\n%s", debs[0], err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(filepath.Join(tmp, "usr", "sbin", "ferm")); err != nil {
		t.Fatalf("the ferm package holds no usr/sbin/ferm: %v", err)
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another run may have put its copy there first.
		if _, serr := os.Stat(script); serr != nil {
			t.Fatal(err)
		}
	}
	t.Logf("using ferm unpacked from %s", filepath.Base(debs[0]))
	return script
}
