package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ErrMissing marks an error caused by something the machine lacks (a
// command, a package, a package list): the tests report it as a missing
// prerequisite rather than as a failure of the code under test.
var ErrMissing = errors.New("missing prerequisite")

// KernelMeta is the Debian package whose dependency is the guest's kernel.
const KernelMeta = "linux-image-cloud-amd64"

// Modules are the modules of the virtio network driver, in load order: the
// package has no modules.dep, so /init loads them one by one with insmod.
var Modules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
	"virtio_pci", "failover", "net_failover", "virtio_net",
}

var (
	//go:embed init.sh
	initScript []byte
	//go:embed lease.sh
	leaseScript []byte
	//go:embed lease6.sh
	lease6Script []byte
)

// An Image is a built guest.
type Image struct {
	Kernel  string // bzImage
	Initrd  string // newc cpio archive
	Package string // the kernel's Debian package, e.g. linux-image-6.1.0-57-cloud-amd64
}

// BuildOptions tune Build.
type BuildOptions struct {
	// UpdateLists lets Build run apt-get update when apt-get download
	// fails (a fresh CI machine may have no package lists).
	UpdateLists bool
	// Log receives a line for each step that does real work.
	Log func(format string, args ...any)
}

// Build returns the guest image cached in cacheDir, building what is
// missing: the kernel once per kernel package, the initramfs once per
// content (init scripts, busybox, dhclient and its libraries, modules).
func Build(cacheDir string, opts BuildOptions) (*Image, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for _, c := range []string{"apt-cache", "apt-get", "dpkg-deb", "busybox", "dhclient"} {
		if _, err := exec.LookPath(c); err != nil {
			return nil, fmt.Errorf("vm: need command %s: %w", c, ErrMissing)
		}
	}
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("vm: cache directory: %w", err)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: cache directory: %w", err)
	}
	pkg, err := kernelPackage(cacheDir)
	if err != nil && opts.UpdateLists {
		// A fresh machine (a CI container) may have no package lists yet.
		if out, uerr := exec.Command("apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return nil, fmt.Errorf("vm: apt-get update: %v: %s", uerr, out)
		}
		pkg, err = kernelPackage(cacheDir)
	}
	if err != nil {
		return nil, err
	}
	kdir := filepath.Join(cacheDir, pkg)
	if _, err := os.Stat(filepath.Join(kdir, "vmlinuz")); err != nil {
		logf("vm: fetching %s (dependency of %s) into %s", pkg, KernelMeta, kdir)
		if err := fetchKernel(pkg, kdir, opts.UpdateLists); err != nil {
			return nil, err
		}
	}
	initrd, err := buildInitramfs(cacheDir, kdir, logf)
	if err != nil {
		return nil, err
	}
	return &Image{Kernel: filepath.Join(kdir, "vmlinuz"), Initrd: initrd, Package: pkg}, nil
}

var dependsLine = regexp.MustCompile(`(?m)^\s*Depends:\s*(linux-image-\S+)`)

// aptLists is where apt keeps the package lists; apt-get update changes
// the directory's modification time.
const aptLists = "/var/lib/apt/lists"

// kernelPackage returns the kernel package KernelMeta depends on, from the
// local package lists. apt-cache takes seconds on a loaded machine, so the
// answer is kept in cacheDir for as long as the lists stay the same.
func kernelPackage(cacheDir string) (string, error) {
	stamp := "no lists"
	if fi, err := os.Stat(aptLists); err == nil {
		stamp = fi.ModTime().UTC().Format(time.RFC3339Nano)
	}
	memo := filepath.Join(cacheDir, "kernel-package")
	if b, err := os.ReadFile(memo); err == nil {
		if pkg, st, ok := strings.Cut(strings.TrimSpace(string(b)), "\n"); ok && st == stamp {
			return pkg, nil
		}
	}
	out, err := exec.Command("apt-cache", "depends", KernelMeta).CombinedOutput()
	m := dependsLine.FindSubmatch(out)
	if err != nil || m == nil {
		return "", fmt.Errorf("vm: apt-cache depends %s: %v: %s: %w", KernelMeta, err, bytes.TrimSpace(out), ErrMissing)
	}
	pkg := string(m[1])
	_ = os.WriteFile(memo, []byte(pkg+"\n"+stamp+"\n"), 0o644)
	return pkg, nil
}

// fetchKernel downloads pkg, unpacks it in a scratch directory and keeps
// the kernel and the virtio network modules (decompressed) in kdir.
func fetchKernel(pkg, kdir string, updateLists bool) error {
	scratch, err := os.MkdirTemp(filepath.Dir(kdir), ".fetch-")
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(scratch)
	// apt-get download writes as the _apt user when it can.
	_ = os.Chmod(scratch, 0o777)
	download := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "download", "-q", pkg)
		cmd.Dir = scratch
		return cmd.CombinedOutput()
	}
	out, err := download()
	if err != nil && updateLists {
		if uout, uerr := exec.Command("apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return fmt.Errorf("vm: apt-get update: %v: %s", uerr, uout)
		}
		out, err = download()
	}
	if err != nil {
		return fmt.Errorf("vm: apt-get download %s: %v: %s: %w", pkg, err, bytes.TrimSpace(out), ErrMissing)
	}
	debs, _ := filepath.Glob(filepath.Join(scratch, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("vm: apt-get download %s left %d .deb files", pkg, len(debs))
	}
	root := filepath.Join(scratch, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("vm: dpkg-deb -x %s: %v: %s", debs[0], err, out)
	}
	staged := filepath.Join(scratch, "kernel")
	if err := os.MkdirAll(filepath.Join(staged, "modules"), 0o755); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return fmt.Errorf("vm: %s holds %d kernels in /boot, want 1", pkg, len(kernels))
	}
	if err := copyFile(kernels[0], filepath.Join(staged, "vmlinuz")); err != nil {
		return err
	}
	found, err := findModules(root)
	if err != nil {
		return err
	}
	for _, name := range Modules {
		src, ok := found[name]
		if !ok {
			return fmt.Errorf("vm: %s has no module %s", pkg, name)
		}
		if err := decompressModule(src, filepath.Join(staged, "modules", name+".ko")); err != nil {
			return err
		}
	}
	// A rename publishes the kernel whole: a build that dies half-way
	// leaves no directory that looks complete.
	if err := os.Rename(staged, kdir); err != nil {
		// Another test binary may have published it first.
		if _, serr := os.Stat(filepath.Join(kdir, "vmlinuz")); serr == nil {
			return nil
		}
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// findModules maps module names to their files under root/lib/modules,
// compressed or not.
func findModules(root string) (map[string]string, error) {
	found := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "lib", "modules"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
			if strings.HasSuffix(name, ext) {
				found[strings.TrimSuffix(name, ext)] = path
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: modules: %w", err)
	}
	return found, nil
}

// decompressModule writes the module at src to dst as a plain .ko: busybox
// insmod may not be built with decompression.
func decompressModule(src, dst string) error {
	var tool string
	switch {
	case strings.HasSuffix(src, ".xz"):
		tool = "xz"
	case strings.HasSuffix(src, ".zst"):
		tool = "zstd"
	case strings.HasSuffix(src, ".gz"):
		f, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("vm: %s: %w", src, err)
		}
		return writeFrom(dst, zr)
	default:
		return copyFile(src, dst)
	}
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("vm: need %s to decompress %s: %w", tool, src, ErrMissing)
	}
	out, err := exec.Command(tool, "-dc", src).Output()
	if err != nil {
		return fmt.Errorf("vm: %s -dc %s: %w", tool, src, err)
	}
	return os.WriteFile(dst, out, 0o644)
}

// initramfsFiles returns the initramfs content as archive path → host
// file, except the embedded scripts.
func initramfsFiles(kdir string) (map[string]string, error) {
	files := map[string]string{}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("vm: need busybox: %w", ErrMissing)
	}
	files["bin/busybox"] = bb
	dh, err := exec.LookPath("dhclient")
	if err != nil {
		return nil, fmt.Errorf("vm: need dhclient: %w", ErrMissing)
	}
	files["bin/dhclient"] = dh
	libs, err := sharedLibraries(dh)
	if err != nil {
		return nil, err
	}
	for _, l := range libs {
		files[strings.TrimPrefix(l, "/")] = l
	}
	for _, m := range Modules {
		files["lib/modules/"+m+".ko"] = filepath.Join(kdir, "modules", m+".ko")
	}
	return files, nil
}

var lddPath = regexp.MustCompile(`(/\S+) \(0x`)

// sharedLibraries returns the libraries (and the loader) bin needs, as
// ldd resolves them on this host; none for a static binary.
func sharedLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("vm: ldd %s: %v: %s", bin, err, out)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := lddPath.FindStringSubmatch(sc.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}

// buildInitramfs returns the initramfs for the kernel in kdir, building it
// when the cache has none for this content.
func buildInitramfs(cacheDir, kdir string, logf func(string, ...any)) (string, error) {
	files, err := initramfsFiles(kdir)
	if err != nil {
		return "", err
	}
	scripts := map[string][]byte{"init": initScript, "bin/lease.sh": leaseScript, "bin/lease6.sh": lease6Script}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		f, err := os.Open(files[n])
		if err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
		fmt.Fprintf(h, "%s\n", n)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	for _, n := range []string{"init", "bin/lease.sh", "bin/lease6.sh"} {
		fmt.Fprintf(h, "%s\n", n)
		h.Write(scripts[n])
	}
	fmt.Fprintf(h, "%s\n", filepath.Base(kdir))
	path := filepath.Join(cacheDir, "initramfs-"+hex.EncodeToString(h.Sum(nil))[:16]+".cpio")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	logf("vm: building %s", path)

	stage, err := os.MkdirTemp(cacheDir, ".initramfs-")
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(stage)
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", "etc", "var/lib/dhcp"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(stage, filepath.Dir(n)), 0o755); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
		if err := copyFile(files[n], filepath.Join(stage, n)); err != nil {
			return "", err
		}
	}
	for n, content := range scripts {
		if err := os.WriteFile(filepath.Join(stage, n), content, 0o755); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	// The applets /init and its scripts call, as links to busybox.
	applets, err := exec.Command("busybox", "--list").Output()
	if err != nil {
		return "", fmt.Errorf("vm: busybox --list: %w", err)
	}
	for _, a := range strings.Fields(string(applets)) {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(stage, "bin", a)); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	var list bytes.Buffer
	err = filepath.WalkDir(stage, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == stage {
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		list.WriteString(rel + "\n")
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	out, err := os.CreateTemp(cacheDir, ".initramfs-*.cpio")
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	tmp := out.Name()
	_ = out.Chmod(0o644)
	cpio := exec.Command("busybox", "cpio", "-o", "-H", "newc")
	cpio.Dir = stage
	cpio.Stdin = &list
	cpio.Stdout = out
	var stderr bytes.Buffer
	cpio.Stderr = &stderr
	err = cpio.Run()
	out.Close()
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("vm: busybox cpio: %v: %s", err, stderr.Bytes())
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	return path, nil
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	defer f.Close()
	return writeFrom(dst, f)
}

// writeFrom writes r to dst with mode 0755 (binaries and modules alike).
func writeFrom(dst string, r io.Reader) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("vm: write %s: %w", dst, err)
	}
	return f.Close()
}
