package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// writeBindings writes n binding files named after the TAPs, each
// dual-stack. The documentation ranges cannot give 10,000 distinct IPv4
// addresses, so they repeat every 256 TAPs: the daemon keys bindings by
// TAP, and the responder never compares addresses across TAPs.
func writeBindings(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		b := fmt.Sprintf("MAC=52:54:00:%02x:%02x:%02x\nIP=198.51.100.%d\nSUBNET=198.51.100.0/24\nGATEWAY=198.51.100.1\n"+
			"SUBNET6=2001:db8:%x::/64\nGATEWAY6=2001:db8:%x::1\nHOSTNAME=vm%d.example.org\nTAGS=\"scale\"\n",
			i>>16&0xff, i>>8&0xff, i&0xff, 2+i%250, i, i, i)
		if err := os.WriteFile(filepath.Join(dir, tapName(i)), []byte(b), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// probeBinding is the binding of the probe TAP, written and removed by the
// binding-to-answer measurement the way a hook does.
func probeBinding() map[string]string {
	return map[string]string{"MAC": probeMAC, "IP": probeIP, "SUBNET": "192.0.2.0/24", "GATEWAY": probeGW}
}

// A daemon is the nfdhcpd process under measurement.
type daemon struct {
	cmd   *exec.Cmd
	ready chan time.Duration // when "ready to serve requests" was logged, after start
	done  chan struct{}
	log   *os.File
}

func writeConfig(dir, data string) (string, error) {
	conf := fmt.Sprintf(`[general]
datapath = %s
pidfile = %s
control_socket = %s
# The probe asks every millisecond: the per-TAP rate limit would soon
# silence it and blur when a binding appears or goes.
rate_limit = 0
[dhcp]
enable_dhcp = yes
dhcp_queue = %d
server_on_link = yes
nameservers = 192.0.2.53
[ipv6]
enable_ipv6 = yes
rs_queue = 43
ns_queue = 44
nameservers = 2001:db8::53
`, data, filepath.Join(dir, "nfdhcpd.pid"), filepath.Join(dir, "nfdhcpd.sock"), queueNum)
	path := filepath.Join(dir, "nfdhcpd.conf")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}

// startDaemon starts the daemon in the hypervisor namespace and watches
// its log for the ready line.
func startDaemon(t *topology, bin, conf, logPath string) (*daemon, time.Time, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, time.Time{}, err
	}
	cmd := exec.Command("ip", "netns", "exec", t.hv, bin, "-c", conf, "-f")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, time.Time{}, err
	}
	d := &daemon{cmd: cmd, ready: make(chan time.Duration, 1), done: make(chan struct{}), log: logFile}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, started, fmt.Errorf("scale: start daemon: %w", err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(io.TeeReader(stderr, logFile))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `msg="ready to serve requests"`) {
				d.ready <- time.Since(started)
			}
		}
		_ = cmd.Wait()
	}()
	return d, started, nil
}

func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	select {
	case took := <-d.ready:
		return took, nil
	case <-d.done:
		return 0, fmt.Errorf("scale: the daemon exited before it was ready (log: %s)", d.log.Name())
	case <-time.After(timeout):
		return 0, fmt.Errorf("scale: the daemon was not ready after %s (log: %s)", timeout, d.log.Name())
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.log.Close()
}

// vmRSSKiB reads the resident memory of pid from /proc/PID/status.
func vmRSSKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("scale: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("scale: no VmRSS for pid %d", pid)
}

// removeProbe removes the probe binding like an ifdown hook.
func removeProbe(dir string) error { return binding.RemoveFile(dir, probeTap) }

// writeProbe writes the probe binding like an ifup hook.
func writeProbe(dir string) error { return binding.WriteFile(dir, probeTap, probeBinding()) }
