package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// binEnv names the environment variable holding the daemon binary under
// test. TestMain builds the binary once and sets it, unless it is already set
// (make test passes the binary it built).
const binEnv = "NFDHCPD_BIN"

// raceEnv, when set, says that the daemon under test was built with -race:
// tests that bound its memory allow for the detector's overhead.
const raceEnv = "NFDHCPD_E2E_RACE"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv(binEnv) == "" && (os.Geteuid() == 0 || os.Getenv("CI") == "true") {
		dir, err := os.MkdirTemp("", "nfdhcpd-e2e-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: temp dir for the binary: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "nfdhcpd")
		if err := buildDaemon(bin); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 1
		}
		os.Setenv(binEnv, bin)
	}
	return m.Run()
}

// buildDaemon compiles cmd/nfdhcpd into bin with the go command that runs
// these tests.
func buildDaemon(bin string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goCmd, "build", "-o", bin, "github.com/nfdhcpd/nfdhcpd/cmd/nfdhcpd")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build cmd/nfdhcpd: %w: %s", err, out)
	}
	return nil
}

// A Config is the daemon's INI configuration: section → key → value.
type Config map[string]map[string]string

// defaultConfig returns the configuration the tests start from: DHCPv4 on
// the harness's queue, the documented default lease times, IPv6 on its
// queues, and a control socket next to datapath.
func defaultConfig(datapath string) Config {
	return Config{
		// Each daemon gets its own control socket: the default path in /run
		// is shared by every daemon on the machine.
		// The per-TAP rate limit is off: tests that poll in tight loops
		// measure binding latency, not the limit (flood_test.go and
		// hostile_test.go turn it on).
		"general": {"datapath": datapath, "control_socket": filepath.Join(filepath.Dir(datapath), "control"), "rate_limit": "0"},
		"dhcp": {
			"enable_dhcp":    "yes",
			"dhcp_queue":     fmt.Sprint(queueDHCPv4),
			"nameservers":    "192.0.2.53, 192.0.2.54",
			"domain":         "example.org",
			"lease_lifetime": "604800",
			"lease_renewal":  "600",
			"server_ip":      "192.0.2.254",
		},
		"ipv6": {
			"enable_ipv6":  "yes",
			"rs_queue":     fmt.Sprint(queueRS),
			"ns_queue":     fmt.Sprint(queueNS),
			"dhcpv6_queue": fmt.Sprint(queueDHCPv6),
			"nameservers":  "2001:db8:53::1",
			"domains":      "example.org",
		},
	}
}

// set sets section.key to value, creating the section as needed.
func (c Config) set(section, key, value string) {
	if c[section] == nil {
		c[section] = map[string]string{}
	}
	c[section][key] = value
}

// String renders the configuration as INI text in a stable order.
func (c Config) String() string {
	var b strings.Builder
	sections := make([]string, 0, len(c))
	for s := range c {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	for _, s := range sections {
		fmt.Fprintf(&b, "[%s]\n", s)
		keys := make([]string, 0, len(c[s]))
		for k := range c[s] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s = %s\n", k, c[s][k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// queues returns the queue numbers the configuration opens, so that
// readiness can be checked in the kernel's queue table.
func (c Config) queues() []int {
	var qs []int
	for _, sk := range [][2]string{{"dhcp", "dhcp_queue"}, {"ipv6", "rs_queue"}, {"ipv6", "ns_queue"}, {"ipv6", "dhcpv6_queue"}} {
		if c[sk[0]] == nil {
			continue
		}
		if sk[0] == "dhcp" && c["dhcp"]["enable_dhcp"] == "no" || sk[0] == "ipv6" && c["ipv6"]["enable_ipv6"] == "no" {
			continue
		}
		var q int
		if _, err := fmt.Sscan(c[sk[0]][sk[1]], &q); err == nil {
			qs = append(qs, q)
		}
	}
	return qs
}

// A Daemon is one nfdhcpd process running in a hypervisor namespace, with
// its data directory and captured log.
type Daemon struct {
	NS       *Netns
	Datapath string
	Conf     string

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited and its log is drained
	waited error

	mu      sync.Mutex
	lines   []string
	stopped bool
}

// newDatapath returns an empty binding directory for a daemon.
func newDatapath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "bindings")
}

// startDaemon writes conf, starts the daemon in hv (`ip netns exec HV nfdhcpd
// -c CONF -d -f`), streams its log into the test log and waits until all its
// queues are bound. The datapath directory (conf's [general] datapath) is
// created when missing. When the test ends a still-running daemon is
// killed; use Stop to assert a clean exit.
func startDaemon(t testing.TB, hv *Netns, conf Config) *Daemon {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		netnstest.MissingPrerequisite(t, "no daemon binary (%s unset)", binEnv)
	}
	d := &Daemon{NS: hv, Datapath: conf["general"]["datapath"], done: make(chan struct{})}
	if err := os.MkdirAll(d.Datapath, 0o755); err != nil {
		t.Fatalf("e2e: datapath: %v", err)
	}
	d.Conf = filepath.Join(t.TempDir(), "nfdhcpd.conf")
	if err := os.WriteFile(d.Conf, []byte(conf.String()), 0o644); err != nil {
		t.Fatalf("e2e: write config: %v", err)
	}
	d.cmd = exec.Command("ip", "netns", "exec", hv.Name, bin, "-c", d.Conf, "-d", "-f")
	// ip netns exec execs the daemon in place, so signals sent to this pid
	// reach the daemon itself.
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("e2e: daemon stderr: %v", err)
	}
	d.cmd.Stdout = d.cmd.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("e2e: start daemon: %v", err)
	}
	go d.collect(t, stderr)
	t.Cleanup(func() {
		d.mu.Lock()
		stopped := d.stopped
		d.mu.Unlock()
		if !stopped {
			_ = d.cmd.Process.Kill()
		}
		<-d.done
	})
	d.waitReady(t, conf.queues())
	return d
}

// collect copies the daemon's log lines into the test log and the line
// buffer, then reaps the process.
func (d *Daemon) collect(t testing.TB, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		d.mu.Lock()
		d.lines = append(d.lines, line)
		d.mu.Unlock()
		t.Logf("daemon: %s", line)
	}
	d.waited = d.cmd.Wait()
	close(d.done)
}

// waitReady waits until the daemon listens on every queue in qs and has
// logged that it is ready (its control socket and metrics listener open
// after the queues), failing the test if it exits first or takes more than
// 10 s.
func (d *Daemon) waitReady(t testing.TB, qs []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !queuesBound(d.NS, qs...) || !d.logged(`msg="ready to serve requests"`) {
		select {
		case <-d.done:
			t.Fatalf("e2e: daemon exited before it was ready: %v", d.waited)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: daemon did not bind queues %v within 10s", qs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logged reports whether the daemon has logged a line containing s.
func (d *Daemon) logged(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range d.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("e2e: signal %v to daemon: %v", sig, err)
	}
}

// Stop sends SIGTERM and fails the test unless the daemon exits with status
// 0 within 5 s.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.Signal(t, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		t.Fatalf("e2e: daemon did not exit within 5s of SIGTERM")
	}
	if d.waited != nil {
		var ee *exec.ExitError
		if errors.As(d.waited, &ee) {
			t.Fatalf("e2e: daemon exit after SIGTERM: %v (want status 0)", ee)
		}
		t.Fatalf("e2e: daemon wait: %v", d.waited)
	}
}

// Log returns a copy of the log lines so far.
func (d *Daemon) Log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// WaitLog waits up to timeout for a log line containing every one of
// substrs and returns it; it fails the test when none appears.
func (d *Daemon) WaitLog(t testing.TB, timeout time.Duration, substrs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range d.Log() {
			if containsAll(line, substrs) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: no daemon log line containing all of %q within %v", substrs, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, substrs []string) bool {
	for _, sub := range substrs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// WriteBinding installs a binding file the way hooks should: written to a
// hidden temporary file in the data directory, then renamed into place.
func (d *Daemon) WriteBinding(t testing.TB, tap, content string) {
	t.Helper()
	tmp := filepath.Join(d.Datapath, "."+tap+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatalf("e2e: write binding %s: %v", tap, err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Datapath, tap)); err != nil {
		t.Fatalf("e2e: rename binding %s: %v", tap, err)
	}
}

// WriteBindingInPlace overwrites (or creates) a binding file directly, as
// naive hooks do.
func (d *Daemon) WriteBindingInPlace(t testing.TB, tap, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.Datapath, tap), []byte(content), 0o644); err != nil {
		t.Fatalf("e2e: write binding %s: %v", tap, err)
	}
}

// RemoveBinding deletes a binding file.
func (d *Daemon) RemoveBinding(t testing.TB, tap string) {
	t.Helper()
	if err := os.Remove(filepath.Join(d.Datapath, tap)); err != nil {
		t.Fatalf("e2e: remove binding %s: %v", tap, err)
	}
}

// bindingFile renders binding file content from key/value pairs in the
// given order ("MAC", "aa:...", "IP", "192.0.2.10", ...).
func bindingFile(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
	}
	return b.String()
}

// mustMkdir creates dir and its parents.
func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("e2e: mkdir %s: %v", dir, err)
	}
}
