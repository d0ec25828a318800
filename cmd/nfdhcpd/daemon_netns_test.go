package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// waitLog waits until the log contains every one of want.
func waitLog(t *testing.T, log *netnstest.SyncBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := log.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log never contained %q:\n%s", want, log.String())
}

// buildDaemon builds the command into dir and returns the binary's path.
func buildDaemon(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nfdhcpd")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDaemon starts bin with args in the namespace ns, its log going to
// log, and kills it at cleanup. The channel delivers its exit; whoever
// reads it must send a value back for the cleanup.
func startDaemon(t *testing.T, log *netnstest.SyncBuffer, ns, bin string, args ...string) (*exec.Cmd, chan error) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return cmd, exited
}

// TestDaemonLifecycle runs the real binary in a namespace: it serves a
// queue from the binding table (a bound TAP's packet is dropped, an unbound
// one's accepted), writes its pidfile, dumps bindings on SIGUSR1, reopens
// a renumbered queue on SIGHUP, and exits 0 on SIGTERM.
func TestDaemonLifecycle(t *testing.T) {
	netnstest.RequireRoot(t)
	dir := t.TempDir()
	bin := buildDaemon(t, dir)
	suffix := netnstest.RandomHex(4)
	near, far := "nfd-daemon-near-"+suffix, "nfd-daemon-far-"+suffix
	for _, ns := range []string{near, far} {
		netnstest.NewNamespace(t, ns)
	}
	netnstest.Run(t, "ip", "-n", near, "link", "add", "tap0", "type", "veth", "peer", "name", "eth0", "netns", far)
	netnstest.Run(t, "ip", "-n", near, "addr", "add", "192.0.2.1/24", "dev", "tap0")
	netnstest.Run(t, "ip", "-n", far, "addr", "add", "192.0.2.2/24", "dev", "eth0")
	netnstest.Run(t, "ip", "-n", near, "link", "set", "tap0", "up")
	netnstest.Run(t, "ip", "-n", far, "link", "set", "eth0", "up")
	// A veth drops what is sent before both ends have their carrier.
	for deadline := time.Now().Add(5 * time.Second); ; {
		out, _ := exec.Command("ip", "-n", far, "link", "show", "eth0").CombinedOutput()
		if strings.Contains(string(out), "state UP") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eth0 not up after 5s: %s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, q := range []string{"4401", "4402"} {
		netnstest.Run(t, "ip", "netns", "exec", near, "iptables", "-t", "mangle", "-A", "PREROUTING",
			"-i", "tap0", "-p", "udp", "--dport", "67", "-j", "NFQUEUE", "--queue-num", q, "--queue-bypass")
	}

	data := filepath.Join(dir, "bindings")
	os.Mkdir(data, 0o755)
	pidfile := filepath.Join(dir, "run", "nfdhcpd.pid")
	conf := filepath.Join(dir, "nfdhcpd.conf")
	writeConf := func(queue int) {
		c := fmt.Sprintf("[general]\ndatapath = %s\npidfile = %s\ncontrol_socket = %s\n[dhcp]\nserver_ip = 192.0.2.1\ndhcp_queue = %d\n[ipv6]\nenable_ipv6 = no\n", data, pidfile, filepath.Join(dir, "control"), queue)
		if err := os.WriteFile(conf, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(4401)
	bindingFile := filepath.Join(data, "tap0")
	if err := os.WriteFile(bindingFile, []byte("MAC=aa:00:00:12:34:56\nIP=192.0.2.10\nSUBNET=192.0.2.0/24\nGATEWAY=192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	var listener net.PacketConn
	var conn net.Conn
	var err error
	netnstest.InNS(t, near, func() { listener, err = net.ListenPacket("udp4", "192.0.2.1:67") })
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	netnstest.InNS(t, far, func() {
		conn, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 68}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var log netnstest.SyncBuffer
	cmd, exited := startDaemon(t, &log, near, bin, "-c", conf, "-d", "-f")
	waitLog(t, &log, "ready to serve requests", `msg="queue bound" QUEUE=4401`)

	pid, err := os.ReadFile(pidfile)
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pidfile = %q, %v; want %d", pid, err, cmd.Process.Pid)
	}

	// Bound TAP: the packet is dropped after handling, the socket never
	// sees it.
	conn.Write([]byte("from a bound tap"))
	buf := make([]byte, 1500)
	listener.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, _, err := listener.ReadFrom(buf); err == nil {
		t.Errorf("a bound TAP's packet passed the queue: %q", buf[:n])
	}

	cmd.Process.Signal(syscall.SIGUSR1)
	waitLog(t, &log, "binding table", "TAP=tap0 state=active", "kind=dhcpv4")
	// The dropped packet went through the handler: some outcome of the
	// DHCPv4 queue other than unknown_tap was counted.
	counted := regexp.MustCompile(`kind=dhcpv4 .*(answered|nak|ignored|spoofed|malformed|error)=[1-9]`)
	if !counted.MatchString(log.String()) {
		t.Errorf("the bound TAP's packet was not counted by the DHCPv4 handler:\n%s", log.String())
	}

	writeConf(4402)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &log, "configuration reloaded", `msg="queue bound" QUEUE=4402`)

	// Unbound TAP: accepted untouched, through the renumbered queue.
	if err := os.Remove(bindingFile); err != nil {
		t.Fatal(err)
	}
	got := ""
	for deadline := time.Now().Add(5 * time.Second); got == "" && time.Now().Before(deadline); {
		conn.Write([]byte("from an unbound tap"))
		listener.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := listener.ReadFrom(buf); err == nil {
			got = string(buf[:n])
		}
	}
	if got != "from an unbound tap" {
		t.Errorf("unbound TAP's packet: got %q, want it accepted\n%s", got, log.String())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v, want status 0\n%s", err, log.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("daemon still running 5s after SIGTERM\n%s", log.String())
	}
	exited <- nil // for the cleanup
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile left after exit: %v", err)
	}
}
