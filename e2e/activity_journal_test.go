package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLeaseActivityJournal runs the daemon with its stderr on journald, as
// systemd does, and checks that `journalctl TAP=tap1` shows the lease
// lines at INFO. The journal is a systemd-journald of the test's own, in
// a private mount namespace whose /run/systemd and /run/log are fresh
// tmpfs: the host's journal, if any, is never touched. systemd-cat gives
// the daemon a journal stream; JOURNAL_STREAM is set the way systemd sets
// it for a unit, so that the daemon logs structured records.
func TestLeaseActivityJournal(t *testing.T) {
	hv := actHypervisor(t, "udhcpc", "unshare", "nsenter", "systemd-cat", "journalctl", "stat")
	journald := "/lib/systemd/systemd-journald"
	if _, err := os.Stat(journald); err != nil {
		requirePrereqs(t, "systemd-journald") // reports the missing journald
	}
	bin := nfdhcpdBinary(t)
	l := actConnectVM(t, hv, "tap1", vmMAC(155))
	dir := t.TempDir()
	conf := dhcpv4Config(t)
	conf.set("general", "control_socket", filepath.Join(dir, "control"))
	mustMkdir(t, conf["general"]["datapath"])
	confPath := filepath.Join(dir, "nfdhcpd.conf")
	writeFile(t, confPath, conf.String())
	pidFile := filepath.Join(dir, "journald.pid")
	// The test's journald reads no kernel log and forwards nothing.
	jconf := filepath.Join(dir, "journald.conf")
	writeFile(t, jconf, "[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToKMsg=no\nForwardToConsole=no\n")
	// journald runs outside hv (it dies inside `ip netns exec`); its
	// sockets are files of the private /run/systemd, which the daemon in
	// hv sees.
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mkdir -p /run/systemd/journal
mount --bind %s /etc/systemd/journald.conf
%s </dev/null >/dev/null 2>&1 &
echo $! > %s
while [ ! -S /run/systemd/journal/stdout ]; do sleep 0.05; done
exec systemd-cat -t nfdhcpd sh -c 'JOURNAL_STREAM=$(stat -L -c %%d:%%i /proc/self/fd/2) exec ip netns exec %s %s -c %s -f'
`, jconf, journald, pidFile, hv.Name, bin, confPath)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	var out lockedLog
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid := atoiOr0(strings.TrimSpace(string(data))); pid > 0 {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
		}
		cancel()
		_ = cmd.Wait()
	})
	journal := func(args ...string) string {
		data, err := os.ReadFile(pidFile)
		if err != nil {
			return ""
		}
		argv := append([]string{"-t", strings.TrimSpace(string(data)), "-m", "journalctl", "--no-pager"}, args...)
		o, _ := exec.Command("nsenter", argv...).CombinedOutput()
		return string(o)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !queuesBound(hv, conf.queues()...) || !strings.Contains(journal("-o", "cat"), "ready to serve requests") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready under the journal: %s\njournal:\n%s", out.String(), journal("-o", "cat"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := &Daemon{Datapath: conf["general"]["datapath"]}
	d.WriteBinding(t, "tap1", vmBinding(l, "192.0.2.10", "vm-journal"))
	time.Sleep(100 * time.Millisecond)
	if _, err := runUdhcpc(t, l, "-x", "hostname:guest-journal"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	deadline = time.Now().Add(5 * time.Second)
	for {
		lines = lines[:0]
		for _, rec := range strings.Split(strings.TrimSpace(journal("-o", "json", "TAP=tap1")), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(rec), &m) == nil {
				lines = append(lines, fmt.Sprintf("%v|%v|%v|%v", m["PRIORITY"], m["MESSAGE"], m["IP"], m["CLIENT_HOSTNAME"]))
			}
		}
		found := false
		for _, line := range lines {
			if line == "6|VM configured|192.0.2.10|guest-journal" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journalctl TAP=tap1 has no INFO (6) \"VM configured\" record with IP and CLIENT_HOSTNAME:\n%s", strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("journalctl TAP=tap1 (PRIORITY|MESSAGE|IP|CLIENT_HOSTNAME):\n%s", strings.Join(lines, "\n"))
}

func atoiOr0(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}
