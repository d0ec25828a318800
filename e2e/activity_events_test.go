package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// actStatus is the part of `nfdhcpd status -json` the activity tests read.
type actStatus struct {
	Bindings []struct {
		Name     string `json:"name"`
		Activity *struct {
			LeaseIP        string   `json:"lease_ip"`
			ClientHostname string   `json:"client_hostname"`
			VendorClass    string   `json:"vendor_class"`
			DUID           string   `json:"duid"`
			ParamList      []int    `json:"param_request_list"`
			Leased6        []string `json:"dhcpv6_addresses"`
			Delegated6     []string `json:"dhcpv6_prefixes"`
			Seen6          []struct {
				Address string `json:"address"`
				How     string `json:"how"`
			} `json:"ipv6_in_use"`
		} `json:"activity"`
	} `json:"bindings"`
	Counters []struct {
		Queue, Outcome string
		Packets        uint64
	} `json:"counters"`
	Events *struct {
		Run      uint64 `json:"run"`
		Failed   uint64 `json:"failed"`
		TimedOut uint64 `json:"timed_out"`
		Dropped  uint64 `json:"dropped"`
		Queued   int    `json:"queued"`
	} `json:"events"`
}

func actReadStatus(t *testing.T, socket string) actStatus {
	t.Helper()
	out, errOut, code := runNfdhcpd(t, "status", "-socket", socket, "-json")
	if code != 0 {
		t.Fatalf("nfdhcpd status: exit %d: %s", code, errOut)
	}
	var s actStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status -json: %v", err)
	}
	return s
}

func (s actStatus) counter(queue, outcome string) uint64 {
	for _, c := range s.Counters {
		if c.Queue == queue && c.Outcome == outcome {
			return c.Packets
		}
	}
	return 0
}

// daemonRSS returns the daemon's resident memory in KiB.
func daemonRSS(t *testing.T, d *Daemon) int {
	t.Helper()
	data := readFile(t, fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindStringSubmatch(data)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", d.cmd.Process.Pid)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitFileLine waits until a line of path contains every one of substrs.
func waitFileLine(t *testing.T, path string, within time.Duration, substrs ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		data, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(data), "\n") {
			if containsAll(line, substrs) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line with %q in %s within %v:\n%s", substrs, path, within, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventCommand has real clients drive a VM through its life and checks
// what the event command receives: bind, active, lease (not the renewal),
// release, unbind, in order, with the documented variables; prefix6 when
// dhclient -P takes a delegated prefix. A run that
// hangs is killed at event_timeout and the next event still runs; a burst
// of 10,000 VM-triggered events neither delays DHCP replies nor grows the
// daemon's memory past the queue's bound, and the drops are counted.
func TestEventCommand(t *testing.T) {
	hv := actHypervisor(t, "udhcpc", "dhclient")
	l := actConnectVM(t, hv, "tap1", vmMAC(152))
	dir := t.TempDir()
	log := filepath.Join(dir, "events")
	script := filepath.Join(dir, "event.sh")
	writeFile(t, script, `#!/bin/sh
[ "$NFDHCPD_EVENT" = nak ] && exit 0
if [ "$TAP" = tap2 ] && [ "$NFDHCPD_EVENT" = bind ]; then sleep 60; fi
echo "$NFDHCPD_EVENT TAP=$TAP STATE=$STATE MAC=$MAC IP=$IP IP6=$IP6 HOSTNAME=$HOSTNAME CLIENT_HOSTNAME=$CLIENT_HOSTNAME VENDOR_CLASS=$VENDOR_CLASS LEASE_IP=$LEASE_IP ADDRESS6=$ADDRESS6 DELEGATED6=$DELEGATED6" >> `+log+"\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := dhcpv4Config(t)
	socket := filepath.Join(dir, "control")
	conf.set("general", "control_socket", socket)
	conf.set("general", "event_command", script)
	conf.set("general", "event_timeout", "1")
	conf.set("general", "event_queue", "256")
	// DHCPv6 for the prefix6 subtest: slaac+dhcpv6 answers more than
	// Information-Request only for a binding that delegates a prefix.
	conf.set("ipv6", "mode", "slaac+dhcpv6")
	d := startDaemon(t, hv, conf)
	binding := bindingFile("MAC", l.VMMAC.String(), "IP", "192.0.2.10", "SUBNET", testSubnet, "GATEWAY", testGateway,
		"SUBNET6", actSubnet6, "HOSTNAME", "vm-act")

	t.Run("life", func(t *testing.T) {
		d.WriteBinding(t, "tap1", binding)
		if _, err := runUdhcpc(t, l, "-x", "hostname:guest-act", "-V", "act-vendor"); err != nil {
			t.Fatal(err)
		}
		// The second run takes the same address again (a renewal: no
		// event) and releases it when stopped (-R). The RELEASE is unicast
		// from the VM's address to the server: the VM needs the address
		// (the test's udhcpc script sets none) and the server's MAC (no
		// one answers ARP for it here).
		l.VM.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", l.VMIf)
		l.VM.Run(t, "ip", "neigh", "replace", testServerIP, "lladdr", l.TapMAC.String(), "dev", l.VMIf, "nud", "permanent")
		actUdhcpcRelease(t, l, "-x", "hostname:guest-act", "-V", "act-vendor")
		waitFileLine(t, log, 5*time.Second, "release TAP=tap1")
		d.RemoveBinding(t, "tap1")
		waitFileLine(t, log, 5*time.Second, "unbind TAP=tap1")
		var kinds []string
		var lease string
		seen6 := 0
		for _, line := range strings.Split(strings.TrimSpace(readFile(t, log)), "\n") {
			switch {
			case strings.HasPrefix(line, "address6 "):
				// The VM's kernel probing its addresses: checked by
				// TestLeaseActivityStatus, in no fixed order here.
				seen6++
			case strings.Contains(line, " TAP=tap1 "):
				kinds = append(kinds, strings.Fields(line)[0])
			}
			if strings.HasPrefix(line, "lease ") {
				lease = line
			}
		}
		t.Logf("%d address6 events", seen6)
		if diff := cmp.Diff([]string{"bind", "active", "lease", "release", "unbind"}, kinds); diff != "" {
			t.Errorf("events of tap1 (-want +got):\n%s\n%s", diff, readFile(t, log))
		}
		eui := actEUI64(t, l.VMMAC).String()
		want := fmt.Sprintf("lease TAP=tap1 STATE=active MAC=%s IP=192.0.2.10 IP6=%s HOSTNAME=vm-act CLIENT_HOSTNAME=guest-act VENDOR_CLASS=act-vendor LEASE_IP=192.0.2.10 ADDRESS6= DELEGATED6=", l.VMMAC, eui)
		if lease != want {
			t.Errorf("lease event:\n got %s\nwant %s", lease, want)
		}
	})
	t.Run("prefix6", func(t *testing.T) {
		// dhclient -P takes the binding's DELEGATED6: one prefix6 event
		// with the prefix, after the Reply (the Advertise only offers).
		const deleg6 = "2001:db8:100::/56"
		d.WriteBinding(t, "tap1", binding+"DELEGATED6="+deleg6+"\n")
		waitFileLine(t, log, 5*time.Second, "active TAP=tap1")
		v6WaitLinkLocal(t, l)
		v6RunDhclient(t, l, 10*time.Second, []string{"-P"}, "reason=BOUND6")
		waitFileLine(t, log, 5*time.Second, "prefix6 TAP=tap1 STATE=active MAC="+l.VMMAC.String(), "HOSTNAME=vm-act", "DELEGATED6="+deleg6)
		d.RemoveBinding(t, "tap1")
		waitFileLine(t, log, 5*time.Second, "unbind TAP=tap1")
	})
	t.Run("hang", func(t *testing.T) {
		start := time.Now()
		d.WriteBinding(t, "tap2", bindingFile("MAC", vmMAC(153).String(), "IP", "192.0.2.20"))
		d.WaitLog(t, 5*time.Second, "event command killed at its timeout", "EVENT=bind", "TAP=tap2")
		d.RemoveBinding(t, "tap2")
		waitFileLine(t, log, 5*time.Second, "unbind TAP=tap2 STATE=pending")
		if took := time.Since(start); took < time.Second {
			t.Errorf("the hanging run ended after %v, before its 1 s timeout", took)
		}
	})
	t.Run("burst", func(t *testing.T) {
		d.WriteBinding(t, "tap1", binding)
		d.WaitLog(t, 2*time.Second, "binding: active", "TAP=tap1")
		before := daemonRSS(t, d)
		c, err := newRawDHCPClient(l.VM, l.VMIf, l.VMMAC)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Each REQUEST for an address not bound gets a NAK and raises a
		// nak event: 10,000 events as fast as the VM can send.
		frame, err := c.frame(dhcpRequest{Type: layers.DHCPMsgTypeRequest, Requested: netip.MustParseAddr("192.0.2.99")}, 42)
		if err != nil {
			t.Fatal(err)
		}
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: c.ifindex, Halen: 6}
		copy(to.Addr[:], layers.EthernetBroadcast)
		const burst = 10000
		send := func(n int) {
			for i := 0; i < n; i++ {
				if err := unix.Sendto(c.fd, frame, 0, to); err != nil {
					t.Fatalf("send: %v", err)
				}
				if i%50 == 49 {
					// About 10,000 a second: the test is about the event
					// queue, not about the kernel's NFQUEUE (1024 packets)
					// overflowing.
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		send(burst)
		// On a loaded machine the kernel's queue may still overflow (the
		// rules are fail-open): top up until 10,000 NAKs, 10,000 events.
		for range 5 {
			if n := actReadStatus(t, socket).counter("dhcpv4", "nak"); n < burst {
				send(int(burst - n))
			}
		}
		took := actDiscoverLatency(t, l, 500*time.Millisecond)
		t.Logf("DISCOVER answered in %v right after the burst", took)
		s := actReadStatus(t, socket)
		naks := s.counter("dhcpv4", "nak")
		after := daemonRSS(t, d)
		t.Logf("%d NAKs, events run %d dropped %d queued %d; RSS %d KiB before, %d KiB after", naks, s.Events.Run, s.Events.Dropped, s.Events.Queued, before, after)
		if naks < burst {
			t.Errorf("only %d REQUESTs NAKed, want %d events", naks, burst)
		}
		if s.Events.Dropped == 0 {
			t.Errorf("no event dropped out of %d with a queue of 256", naks)
		}
		if got := s.Events.Run + s.Events.Dropped + uint64(s.Events.Queued) + 4; got < naks {
			t.Errorf("events run+dropped+queued (+4 running) = %d, fewer than the %d NAKs", got, naks)
		}
		if s.Events.Queued > 256 {
			t.Errorf("%d events queued, over the bound of 256", s.Events.Queued)
		}
		bound := 16 << 10
		if os.Getenv(raceEnv) != "" {
			bound *= 4 // the race detector's shadow memory
		}
		if after-before > bound {
			t.Errorf("RSS grew by %d KiB during the burst, want under %d KiB", after-before, bound)
		}
		d.WaitLog(t, time.Second, "event command queue full", "dropped=")
		metrics := actMetrics(t, socket)
		if v := metricValue(metrics, `nfdhcpd_events_total{result="dropped"}`); v < float64(s.Events.Dropped) || v == 0 {
			t.Errorf("metrics count %v dropped events, status %d:\n%s", v, s.Events.Dropped, metrics)
		}
		if v := metricValue(metrics, `nfdhcpd_events_total{result="timeout"}`); v != 1 {
			t.Errorf("metrics count %v timed-out runs, want 1", v)
		}
	})
	d.Stop(t)
}

// actUdhcpcRelease runs udhcpc -R in the foreground until it is bound,
// then stops it with SIGTERM, on which it releases its lease.
func actUdhcpcRelease(t *testing.T, l *Link, extra ...string) {
	t.Helper()
	dir := t.TempDir()
	bound := filepath.Join(dir, "bound")
	script := writeHookScript(t, dir, `"$1" = bound`, [][2]string{{"ip", "$ip"}}, bound)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := l.VM.Command(ctx, append([]string{"udhcpc", "-i", l.VMIf, "-f", "-R", "-t", "3", "-T", "1", "-s", script}, extra...)...)
	var out lockedLog
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { t.Logf("udhcpc -R: %s", out.String()) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(bound); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatal("udhcpc -R never bound")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(unix.SIGTERM)
	_ = cmd.Wait()
}

// actMetrics reads /metrics from the control socket.
func actMetrics(t *testing.T, socket string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := c.Get("http://nfdhcpd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
