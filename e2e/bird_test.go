package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A birdDaemon is BIRD 2 running in a namespace of a test, with its
// control socket, pid file and configuration in a temporary directory.
type birdDaemon struct {
	ns     *Netns
	name   string // for the log
	Socket string
	Conf   string
	pid    string

	// logT receives BIRD's log: the test that started it, which outlives
	// the subtests that restart it.
	logT testing.TB
	cmd  *exec.Cmd
	done chan struct{}
}

var birdPlaceholder = regexp.MustCompile(`@[A-Z0-9_]+@`)

// renderBIRD returns the shipped configuration contrib/bird/NAME with its
// @KEY@ placeholders filled from vars, logging to stderr (BIRD runs in the
// foreground) instead of syslog. It fails on a placeholder left unfilled.
func renderBIRD(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(contribDir, "bird", name))
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	text := string(data)
	const syslog = "log syslog all;"
	if !strings.Contains(text, syslog) {
		t.Fatalf("e2e: contrib/bird/%s does not %q", name, syslog)
	}
	text = strings.Replace(text, syslog, "log stderr all;", 1)
	for k, v := range vars {
		text = strings.ReplaceAll(text, "@"+k+"@", v)
	}
	if left := birdPlaceholder.FindAllString(text, -1); left != nil {
		t.Fatalf("e2e: contrib/bird/%s: placeholders left unfilled: %v", name, left)
	}
	return text
}

// startBIRD writes conf and runs `bird -f -s SOCKET -P PIDFILE -c CONF` in
// ns until the test ends or Stop.
func startBIRD(t *testing.T, ns *Netns, name, conf string) *birdDaemon {
	t.Helper()
	dir := t.TempDir()
	b := &birdDaemon{ns: ns, name: name, Socket: filepath.Join(dir, "bird.ctl"), Conf: filepath.Join(dir, "bird.conf"), pid: filepath.Join(dir, "bird.pid"), logT: t}
	if err := os.WriteFile(b.Conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	b.start(t)
	t.Cleanup(func() {
		if b.running() {
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

func (b *birdDaemon) start(t *testing.T) {
	t.Helper()
	b.cmd = exec.Command("ip", "netns", "exec", b.ns.Name, "bird", "-f", "-s", b.Socket, "-P", b.pid, "-c", b.Conf)
	out, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("e2e: bird stderr: %v", err)
	}
	b.cmd.Stdout = b.cmd.Stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("e2e: start bird: %v", err)
	}
	b.done = make(chan struct{})
	go func(r io.Reader, done chan struct{}) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			b.logT.Logf("bird %s: %s", b.name, sc.Text())
		}
		_ = b.cmd.Wait()
		close(done)
	}(out, b.done)
	waitUntil(t, 10*time.Second, "bird "+b.name+" to answer on its control socket", func() bool {
		_, err := b.try("show", "status")
		return err == nil
	})
}

func (b *birdDaemon) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// try runs `birdc -s SOCKET ARGS` and returns its output.
func (b *birdDaemon) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "birdc", append([]string{"-s", b.Socket}, args...)...).CombinedOutput()
	return string(out), err
}

// Query runs birdc and fails the test when it fails.
func (b *birdDaemon) Query(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.try(args...)
	if err != nil {
		t.Fatalf("e2e: birdc %s on %s: %v: %s", strings.Join(args, " "), b.name, err, out)
	}
	return out
}

// Stop shuts BIRD down the way its service does (SIGTERM: a graceful
// shutdown that closes every BGP session with a notification) and waits
// for it to exit.
func (b *birdDaemon) Stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("e2e: stop bird %s: %v", b.name, err)
	}
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("e2e: bird %s did not exit within 10s of SIGTERM", b.name)
	}
}

// Restart starts a stopped BIRD again with the same configuration.
func (b *birdDaemon) Restart(t *testing.T) {
	t.Helper()
	if b.running() {
		t.Fatalf("e2e: bird %s is still running", b.name)
	}
	b.start(t)
}

// Established returns how many BGP sessions are established.
func (b *birdDaemon) Established(t *testing.T) int {
	t.Helper()
	return countLines(b.Query(t, "show", "protocols"), "Established")
}
