package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// nfdhcpdBinary returns the daemon binary under test, or skips (fails
// under CI=true) when there is none.
func nfdhcpdBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		netnstest.MissingPrerequisite(t, "no daemon binary (%s unset): need root, or CI=true, to build it", binEnv)
	}
	return bin
}

// runNfdhcpd runs a subcommand of the binary and returns its standard
// output, standard error and exit status.
func runNfdhcpd(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(nfdhcpdBinary(t), args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		t.Fatalf("run nfdhcpd %v: %v", args, err)
	}
	return out.String(), errOut.String(), status
}

// opsStatus is the part of `nfdhcpd status -json` the tests look at.
type opsStatus struct {
	Bindings []struct {
		Name, State, Reason, MAC, IP string
	} `json:"bindings"`
	BindingsN map[string]int `json:"bindings_by_state"`
	Counters  []struct {
		Queue, Outcome string
		Packets        uint64
	} `json:"counters"`
	Routing *struct {
		Role       string    `json:"role"`
		Syncs      uint64    `json:"syncs"`
		OpsApplied uint64    `json:"ops_applied"`
		OpsFailed  uint64    `json:"ops_failed"`
		LastSync   time.Time `json:"last_sync"`
		LastError  string    `json:"last_error"`
	} `json:"routing"`
}

func (s opsStatus) counter(queue, outcome string) uint64 {
	for _, c := range s.Counters {
		if c.Queue == queue && c.Outcome == outcome {
			return c.Packets
		}
	}
	return 0
}

// states returns binding name → state.
func (s opsStatus) states() map[string]string {
	m := map[string]string{}
	for _, b := range s.Bindings {
		m[b.Name] = b.State
	}
	return m
}

// status runs `nfdhcpd status -json` against the socket.
func status(t *testing.T, socket string) opsStatus {
	t.Helper()
	out, errOut, code := runNfdhcpd(t, "status", "-socket", socket, "-json")
	if code != 0 {
		t.Fatalf("nfdhcpd status: exit %d: %s", code, errOut)
	}
	var s opsStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("nfdhcpd status -json: %v: %s", err, out)
	}
	return s
}

// waitStatus polls the status until cond holds, for up to 5 s.
func waitStatus(t *testing.T, socket string, what string, cond func(opsStatus) bool) opsStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := status(t, socket)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed %s; last: %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// opsDaemon starts a daemon in a fresh hypervisor namespace with the capture
// rules and a control socket, after letting edit change the configuration.
func opsDaemon(t *testing.T, edit func(Config)) (*Daemon, string) {
	t.Helper()
	requirePrereqs(t)
	hv := newNetns(t, "ops")
	installQueueRules(t, hv)
	conf := defaultConfig(newDatapath(t))
	socket := filepath.Join(t.TempDir(), "control")
	conf.set("general", "control_socket", socket)
	if edit != nil {
		edit(conf)
	}
	return startDaemon(t, hv, conf), socket
}

// discover sends a DHCPDISCOVER from the VM end of link with MAC mac and
// returns the reply, or nil when none came.
func discover(t *testing.T, link *Link, mac net.HardwareAddr, timeout time.Duration) *layers.DHCPv4 {
	t.Helper()
	c, err := newRawDHCPClient(link.VM, link.VMIf, mac)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.exchange(dhcpRequest{Type: layers.DHCPMsgTypeDiscover,
		Params: []layers.DHCPOpt{layers.DHCPOptSubnetMask, layers.DHCPOptRouter, layers.DHCPOptDNS}}, timeout)
	if errors.Is(err, errNoReply) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// TestStatusShowsBindingsAndCounters checks `nfdhcpd status` against what
// was set up and sent: an active, a pending and an invalid binding, one
// answered and one spoofed DHCPDISCOVER.
func TestStatusShowsBindingsAndCounters(t *testing.T) {
	d, socket := opsDaemon(t, nil)
	vmMAC := net.HardwareAddr{0xaa, 0, 0, 0x5a, 0, 1}
	link := connectVM(t, d.NS, "tap0", vmMAC)
	d.WriteBinding(t, "tap0", bindingFile("MAC", vmMAC.String(), "IP", "192.0.2.10", "SUBNET", "192.0.2.0/24", "GATEWAY", "192.0.2.1"))
	d.WriteBinding(t, "tap9", bindingFile("MAC", "aa:00:00:5a:00:09", "IP", "192.0.2.19"))
	d.WriteBinding(t, "tap8", "MAC=not-a-mac\n")

	want := map[string]string{"tap0": "active", "tap8": "invalid", "tap9": "pending"}
	waitStatus(t, socket, fmt.Sprint(want), func(s opsStatus) bool { return cmp.Equal(want, s.states()) })

	if reply := discover(t, link, vmMAC, 3*time.Second); reply == nil || yourIP(reply) != netip.MustParseAddr("192.0.2.10") {
		t.Fatalf("DISCOVER from the bound MAC: reply %v, want an offer of 192.0.2.10", reply)
	}
	if reply := discover(t, link, net.HardwareAddr{0xaa, 0, 0, 0x5a, 0, 0x66}, 500*time.Millisecond); reply != nil {
		t.Fatalf("DISCOVER from a foreign MAC was answered: %v", reply)
	}

	s := waitStatus(t, socket, "one answered and one spoofed DHCPv4 packet", func(s opsStatus) bool {
		return s.counter("dhcpv4", "answered") >= 1 && s.counter("dhcpv4", "spoofed") >= 1
	})
	got := map[string]uint64{
		"answered": s.counter("dhcpv4", "answered"),
		"spoofed":  s.counter("dhcpv4", "spoofed"),
		"nak":      s.counter("dhcpv4", "nak"),
	}
	if diff := cmp.Diff(map[string]uint64{"answered": 1, "spoofed": 1, "nak": 0}, got); diff != "" {
		t.Errorf("dhcpv4 counters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"active": 1, "pending": 1, "invalid": 1}, s.BindingsN); diff != "" {
		t.Errorf("bindings by state (-want +got):\n%s", diff)
	}
	for _, b := range s.Bindings {
		if b.Name == "tap8" && !strings.Contains(b.Reason, "not-a-mac") {
			t.Errorf("invalid binding's reason %q does not name the bad MAC", b.Reason)
		}
		if b.Name == "tap9" && !strings.Contains(b.Reason, "tap9") {
			t.Errorf("pending binding's reason %q does not name the missing TAP", b.Reason)
		}
	}

	// The table view for people shows the same.
	out, errOut, code := runNfdhcpd(t, "status", "-socket", socket)
	if code != 0 {
		t.Fatalf("nfdhcpd status: exit %d: %s", code, errOut)
	}
	for _, wantLine := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^bindings: 1 active, 1 pending, 1 invalid$`),
		regexp.MustCompile(`(?m)^tap0 +active +tap0 +aa:00:00:5a:00:01 +192\.0\.2\.10 `),
		regexp.MustCompile(`(?m)^dhcpv4 +1 +0 +0 +1 `),
	} {
		if !wantLine.MatchString(out) {
			t.Errorf("nfdhcpd status output has no line matching %s:\n%s", wantLine, out)
		}
	}
	d.Stop(t)
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket still there after a clean stop: %v", err)
	}
}

// TestBindUnbindServes checks the hook commands against the running daemon:
// after `nfdhcpd bind` the VM gets its lease, after `nfdhcpd unbind` no
// answer.
func TestBindUnbindServes(t *testing.T) {
	d, socket := opsDaemon(t, nil)
	vmMAC := net.HardwareAddr{0xaa, 0, 0, 0x5b, 0, 1}
	link := connectVM(t, d.NS, "tap0", vmMAC)
	if reply := discover(t, link, vmMAC, 500*time.Millisecond); reply != nil {
		t.Fatalf("answered before any binding: %v", reply)
	}

	_, errOut, code := runNfdhcpd(t, "bind", "-c", d.Conf, "tap0", "MAC="+vmMAC.String(), "IP=192.0.2.33",
		"SUBNET=192.0.2.0/24", "GATEWAY=192.0.2.1", "HOSTNAME=vm33")
	if code != 0 {
		t.Fatalf("nfdhcpd bind: exit %d: %s", code, errOut)
	}
	waitStatus(t, socket, "tap0 active", func(s opsStatus) bool { return s.states()["tap0"] == "active" })
	reply := discover(t, link, vmMAC, 3*time.Second)
	if reply == nil || yourIP(reply) != netip.MustParseAddr("192.0.2.33") {
		t.Fatalf("after bind: reply %v, want an offer of 192.0.2.33", reply)
	}

	if _, errOut, code := runNfdhcpd(t, "unbind", "-c", d.Conf, "tap0"); code != 0 {
		t.Fatalf("nfdhcpd unbind: exit %d: %s", code, errOut)
	}
	waitStatus(t, socket, "no binding", func(s opsStatus) bool { return len(s.Bindings) == 0 })
	if reply := discover(t, link, vmMAC, 1*time.Second); reply != nil {
		t.Fatalf("after unbind: answered %v, want nothing", reply)
	}

	// A bind the daemon would refuse is refused by the command.
	_, errOut, code = runNfdhcpd(t, "bind", "-c", d.Conf, "tap0", "MAC="+vmMAC.String(), "IP=198.51.100.1", "SUBNET=192.0.2.0/24")
	if code == 0 || !strings.Contains(errOut, "198.51.100.1") {
		t.Errorf("bind of an IP outside its subnet: exit %d, stderr %q; want a failure naming the IP", code, errOut)
	}
}

// TestReloadChangesNameservers checks that SIGHUP makes a new client get
// the DNS servers of the edited configuration.
func TestReloadChangesNameservers(t *testing.T) {
	var conf Config
	d, _ := opsDaemon(t, func(c Config) { conf = c })
	vmMAC := net.HardwareAddr{0xaa, 0, 0, 0x5c, 0, 1}
	link := connectVM(t, d.NS, "tap0", vmMAC)
	d.WriteBinding(t, "tap0", bindingFile("MAC", vmMAC.String(), "IP", "192.0.2.44", "SUBNET", "192.0.2.0/24", "GATEWAY", "192.0.2.1"))
	d.WaitLog(t, 5*time.Second, "tap0")

	dns := func() string {
		t.Helper()
		var reply *layers.DHCPv4
		for range 20 { // the binding may take a moment to become active
			if reply = discover(t, link, vmMAC, 500*time.Millisecond); reply != nil {
				break
			}
		}
		if reply == nil {
			t.Fatal("no offer")
		}
		opt, ok := dhcpOption(reply, layers.DHCPOptDNS)
		if !ok {
			t.Fatal("offer without DNS servers")
		}
		var ips []string
		for i := 0; i+4 <= len(opt); i += 4 {
			ips = append(ips, net.IP(opt[i:i+4]).String())
		}
		return strings.Join(ips, ",")
	}
	if got := dns(); got != "192.0.2.53,192.0.2.54" {
		t.Fatalf("DNS before reload = %s, want 192.0.2.53,192.0.2.54", got)
	}
	conf.set("dhcp", "nameservers", "198.51.100.53")
	if err := os.WriteFile(d.Conf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Signal(t, syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := dns()
		if got == "198.51.100.53" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DNS after reload = %s, want 198.51.100.53", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.Stop(t)
}

// procCaps returns the capability lines and Uid line of /proc/PID/status
// and of every thread of the process.
func procCaps(t *testing.T, pid int) map[string]map[string]string {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	out := map[string]map[string]string{}
	for _, path := range append([]string{fmt.Sprintf("/proc/%d/status", pid)}, tasks...) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && (strings.HasPrefix(k, "Cap") || k == "Uid" || k == "Gid") {
				m[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		f.Close()
		out[path] = m
	}
	return out
}

// TestUserNobodyKeepsServing checks [general] user: the daemon switches to
// nobody with only CAP_NET_ADMIN and CAP_NET_RAW, in every thread, and
// still answers.
func TestUserNobodyKeepsServing(t *testing.T) {
	// nobody must be able to read the data directory after the switch.
	datapath, err := os.MkdirTemp("", "nfdhcpd-ops-bindings-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(datapath) })
	if err := os.Chmod(datapath, 0o755); err != nil {
		t.Fatal(err)
	}
	d, socket := opsDaemon(t, func(c Config) {
		c.set("general", "user", "nobody")
		c.set("general", "datapath", datapath)
	})
	d.WaitLog(t, 5*time.Second, "dropped privileges")

	const onlyNetAdminRaw = "0000000000003000" // bits 12 (NET_ADMIN) and 13 (NET_RAW)
	for path, got := range procCaps(t, d.cmd.Process.Pid) {
		want := map[string]string{
			"CapInh": "0000000000000000", "CapPrm": onlyNetAdminRaw, "CapEff": onlyNetAdminRaw,
			"CapBnd": onlyNetAdminRaw, "CapAmb": "0000000000000000",
			"Uid": "65534 65534 65534 65534", "Gid": "65534 65534 65534 65534",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}

	vmMAC := net.HardwareAddr{0xaa, 0, 0, 0x5d, 0, 1}
	link := connectVM(t, d.NS, "tap0", vmMAC)
	d.WriteBinding(t, "tap0", bindingFile("MAC", vmMAC.String(), "IP", "192.0.2.55", "SUBNET", "192.0.2.0/24", "GATEWAY", "192.0.2.1"))
	waitStatus(t, socket, "tap0 active", func(s opsStatus) bool { return s.states()["tap0"] == "active" })
	if reply := discover(t, link, vmMAC, 3*time.Second); reply == nil || yourIP(reply) != netip.MustParseAddr("192.0.2.55") {
		t.Fatalf("as nobody: reply %v, want an offer of 192.0.2.55", reply)
	}
	d.Stop(t)
}

// metricValue returns the value of the sample called series (name with
// labels, as written) in a Prometheus text exposition, or -1.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// getInNS fetches http://addr/path from a socket opened inside ns, where
// the daemon's metrics endpoint listens.
func getInNS(t *testing.T, ns *Netns, addr, path string) string {
	t.Helper()
	// The harness calls the daemon ready once its queues are bound; the
	// metrics listener opens just after, so a refused connection is retried.
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err = ns.Do(func() error {
			var err error
			conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
			return err
		})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("connect to %s in %s: %v", addr, ns.Name, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b.String())
	}
	return b.String()
}

// TestMetricsMoveWithTraffic checks the Prometheus endpoint: counters,
// message types, the verdict latency histogram and the bindings gauge
// follow what is sent, and the binding list is not exposed over TCP.
func TestMetricsMoveWithTraffic(t *testing.T) {
	const addr = "127.0.0.1:9167"
	d, _ := opsDaemon(t, func(c Config) { c.set("general", "metrics_listen", addr) })
	// The exposition format sorts labels by name.
	answered := `nfdhcpd_packets_total{outcome="answered",queue="dhcpv4"}`
	unknown := `nfdhcpd_packets_total{outcome="unknown_tap",queue="dhcpv4"}`
	active := `nfdhcpd_bindings{state="active"}`
	discovers := `nfdhcpd_requests_total{message_type="discover",queue="dhcpv4"}`
	offers := `nfdhcpd_replies_total{message_type="offer",queue="dhcpv4"}`
	timed := `nfdhcpd_verdict_latency_seconds_count{queue="dhcpv4"}`
	fast := `nfdhcpd_verdict_latency_seconds_bucket{queue="dhcpv4",le="0.1"}`

	before := getInNS(t, d.NS, addr, "/metrics")
	for _, series := range []string{answered, unknown, active, discovers, offers, timed} {
		if v := metricValue(before, series); v != 0 {
			t.Errorf("%s = %v at start, want 0", series, v)
		}
	}

	vmMAC := net.HardwareAddr{0xaa, 0, 0, 0x5e, 0, 1}
	link := connectVM(t, d.NS, "tap0", vmMAC)
	if reply := discover(t, link, vmMAC, 500*time.Millisecond); reply != nil {
		t.Fatalf("answered before any binding: %v", reply)
	}
	d.WriteBinding(t, "tap0", bindingFile("MAC", vmMAC.String(), "IP", "192.0.2.66", "SUBNET", "192.0.2.0/24"))
	var reply *layers.DHCPv4
	for range 20 {
		if reply = discover(t, link, vmMAC, 500*time.Millisecond); reply != nil {
			break
		}
	}
	if reply == nil {
		t.Fatal("no offer after binding")
	}

	// The OFFER can reach the VM before the handler has counted it and
	// timed its verdict: scrape until the counters settle.
	var after string
	got := map[string]float64{}
	for range 40 {
		after = getInNS(t, d.NS, addr, "/metrics")
		for _, series := range []string{answered, unknown, active, discovers, offers, timed, fast} {
			got[series] = metricValue(after, series)
		}
		if got[answered] >= 1 && got[timed] == got[unknown]+got[answered] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every DISCOVER sent before the binding was active counted as unknown
	// TAP; only the last one was decoded and answered. Every packet, known
	// or not, had its verdict timed, each well under 100 ms.
	if got[unknown] < 1 {
		t.Errorf("%s = %v, want at least 1", unknown, got[unknown])
	}
	if got[timed] != got[unknown]+got[answered] || got[fast] != got[timed] {
		t.Errorf("%s = %v and %s = %v, want both %v (every packet handled)", timed, got[timed], fast, got[fast], got[unknown]+got[answered])
	}
	delete(got, unknown)
	delete(got, timed)
	delete(got, fast)
	if diff := cmp.Diff(map[string]float64{answered: 1, active: 1, discovers: 1, offers: 1}, got); diff != "" {
		t.Errorf("metrics after traffic (-want +got):\n%s", diff)
	}
	q := fmt.Sprintf(`{queue_num="%d"}`, queueDHCPv4)
	for _, series := range []string{"go_goroutines", "process_open_fds",
		"nfdhcpd_queue_socket_overflows_total" + q, "nfdhcpd_kernel_queue_dropped_total" + q, "nfdhcpd_kernel_queue_user_dropped_total" + q} {
		if metricValue(after, series) < 0 {
			t.Errorf("%s missing from the metrics", series)
		}
	}

	var conn net.Conn
	_ = d.NS.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if conn != nil {
		fmt.Fprintf(conn, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Errorf("the metrics endpoint serves /status to anyone on the network")
		}
		conn.Close()
	}
	d.Stop(t)
}

// TestCheckCommand runs `nfdhcpd check` on the fixtures: each bad binding
// and configuration is refused with its reason, the good ones pass.
func TestCheckCommand(t *testing.T) {
	nfdhcpdBinary(t)
	fixtures := filepath.Join("..", "fixtures")
	newConf := func(t *testing.T, datapath string) string {
		conf := filepath.Join(t.TempDir(), "nfdhcpd.conf")
		if err := os.WriteFile(conf, []byte("[general]\ndatapath = "+datapath+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return conf
	}
	copyInto := func(t *testing.T, src, dir string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	badBindings, _ := filepath.Glob(filepath.Join(fixtures, "bindings", "bad", "*.reason"))
	badConfigs, _ := filepath.Glob(filepath.Join(fixtures, "config", "bad", "*.reason"))
	if len(badBindings) == 0 || len(badConfigs) == 0 {
		t.Fatal("no bad fixtures found")
	}
	for _, r := range badBindings {
		name := strings.TrimSuffix(filepath.Base(r), ".reason")
		t.Run("binding/"+name, func(t *testing.T) {
			reason, _ := os.ReadFile(r)
			dir := t.TempDir()
			copyInto(t, strings.TrimSuffix(r, ".reason"), dir)
			out, _, code := runNfdhcpd(t, "check", "-c", newConf(t, dir))
			if code != 1 || !strings.Contains(out, strings.TrimSpace(string(reason))) {
				t.Errorf("check: exit %d, output %q; want 1 and the reason %q", code, out, strings.TrimSpace(string(reason)))
			}
		})
	}
	for _, r := range badConfigs {
		name := strings.TrimSuffix(filepath.Base(r), ".reason")
		t.Run("config/"+name, func(t *testing.T) {
			reason, _ := os.ReadFile(r)
			out, _, code := runNfdhcpd(t, "check", "-c", strings.TrimSuffix(r, ".reason")+".conf")
			if code != 1 || !strings.Contains(out, strings.TrimSpace(string(reason))) {
				t.Errorf("check: exit %d, output %q; want 1 and the reason %q", code, out, strings.TrimSpace(string(reason)))
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		dir := t.TempDir()
		good, _ := filepath.Glob(filepath.Join(fixtures, "bindings", "good", "*"))
		for _, g := range good {
			copyInto(t, g, dir)
		}
		out, errOut, code := runNfdhcpd(t, "check", "-c", newConf(t, dir))
		if code != 0 || !strings.Contains(out, fmt.Sprintf("%d binding files ok", len(good))) {
			t.Errorf("check of the good bindings: exit %d, output %q %q", code, out, errOut)
		}
		configs, _ := filepath.Glob(filepath.Join(fixtures, "config", "good", "*.conf"))
		for _, c := range configs {
			if out, _, code := runNfdhcpd(t, "check", "-c", c, good[0]); code != 0 {
				t.Errorf("check -c %s: exit %d: %s", c, code, out)
			}
		}
	})
}

// TestUnitFileVerifies runs systemd-analyze verify on the shipped unit, with
// the binary under test standing in for /usr/sbin/nfdhcpd. Unknown or
// misspelt directives are only warnings to systemd, so any output fails.
func TestUnitFileVerifies(t *testing.T) {
	bin := nfdhcpdBinary(t)
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		netnstest.MissingPrerequisite(t, "need systemd-analyze: %v", err)
	}
	unit, err := os.ReadFile(filepath.Join(contribDir, "systemd", "nfdhcpd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID",
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW", "ExecStart=/usr/sbin/nfdhcpd -c /etc/nfdhcpd/nfdhcpd.conf -f"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit file lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "nfdhcpd.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/sbin/nfdhcpd", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestShippedCaptureRulesLoad loads contrib's iptables, ferm and nftables
// rules into a namespace and checks what the kernel then holds.
func TestShippedCaptureRulesLoad(t *testing.T) {
	requirePrereqs(t, "iptables-restore", "ip6tables-restore", "nft")
	hv := newNetns(t, "rules")
	for _, tc := range []struct{ restore, file, list string }{
		{"iptables-restore", "iptables/rules.v4", "iptables"},
		{"ip6tables-restore", "iptables/rules.v6", "ip6tables"},
	} {
		hv.Run(t, "sh", "-c", tc.restore+" < "+filepath.Join(contribDir, tc.file))
		rules := hv.Run(t, tc.list, "-t", "mangle", "-S", "nfdhcpd")
		if n := strings.Count(rules, "-j NFQUEUE"); n == 0 || n != strings.Count(rules, "--queue-bypass") {
			t.Errorf("%s: %d NFQUEUE rules, all must bypass:\n%s", tc.file, n, rules)
		}
		if !strings.Contains(rules, "--physdev-in tap+") || !strings.Contains(rules, "-i tap+") {
			t.Errorf("%s: want both routed (-i) and bridged (physdev) rules:\n%s", tc.file, rules)
		}
	}

	t.Run("ferm", func(t *testing.T) {
		// Not installed by `make deps` on purpose (see fermCommand): where
		// it is missing, the package is unpacked instead.
		ferm := fermCommand(t)
		out := hv.Run(t, ferm, "--noexec", "--lines", filepath.Join(contribDir, "ferm", "nfdhcpd.conf"))
		for _, want := range []string{"--queue-num 42 --queue-bypass", "--queue-num 43", "--queue-num 44", "--queue-num 45", "--physdev-in tap+"} {
			if !strings.Contains(out, want) {
				t.Errorf("ferm output lacks %q:\n%s", want, out)
			}
		}
	})

	// The native queue expression needs CONFIG_NFT_QUEUE, which some
	// kernels (this test machine's among them) lack: then the only errors
	// must be at the queue statements, and the file must load with them
	// replaced.
	nftFile := filepath.Join(contribDir, "nftables", "nfdhcpd.nft")
	if out, err := hv.Try("nft", "-c", "-f", nftFile); err != nil {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "Error:") && !strings.Contains(line, "Could not process rule: No such file or directory") {
				t.Errorf("nft -c: an error other than a missing queue expression: %s", out)
			}
		}
		text, err := os.ReadFile(nftFile)
		if err != nil {
			t.Fatal(err)
		}
		noQueue := regexp.MustCompile(`queue num \d+ bypass`).ReplaceAllString(string(text), "counter accept")
		tmp := filepath.Join(t.TempDir(), "noqueue.nft")
		if err := os.WriteFile(tmp, []byte(noQueue), 0o644); err != nil {
			t.Fatal(err)
		}
		hv.Run(t, "nft", "-f", tmp)
		if got := hv.Run(t, "nft", "list", "chain", "inet", "nfdhcpd", "prerouting"); strings.Count(got, "counter") != 4 {
			t.Errorf("nft chain has not the 4 capture rules:\n%s", got)
		}
	}
}

// TestIfupdownSnippets runs the up and then the down commands of each
// ifupdown example in a namespace, with a veth named eth0.500 standing in
// for the VLAN interface, and checks that down undoes up's rules.
func TestIfupdownSnippets(t *testing.T) {
	requirePrereqs(t, "arptables", "sysctl")
	stanza := regexp.MustCompile(`^\s+(up|down) (.*)$`)
	for _, role := range []string{"vmc", "router", "router-vmc"} {
		t.Run(role, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(contribDir, "ifupdown", role))
			if err != nil {
				t.Fatal(err)
			}
			cmds := map[string][]string{}
			for _, line := range strings.Split(string(text), "\n") {
				if m := stanza.FindStringSubmatch(line); m != nil {
					cmds[m[1]] = append(cmds[m[1]], strings.ReplaceAll(m[2], "$IFACE", "eth0.500"))
				}
			}
			if len(cmds["up"]) == 0 {
				t.Fatal("no up commands")
			}
			ns := newNetns(t, "ifup")
			ns.Run(t, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
			ns.Run(t, "ip", "link", "add", "eth0.500", "type", "veth", "peer", "name", "vlanp")
			ns.Run(t, "ip", "link", "set", "eth0", "up")
			baseline := ns.Run(t, "sh", "-c", "ip rule; ip -6 rule; arptables -S; iptables -t nat -S")
			for _, c := range cmds["up"] {
				ns.Run(t, "sh", "-c", c)
			}
			up := ns.Run(t, "sh", "-c", "ip rule; ip -6 rule; ip route show table 500; arptables -S; sysctl -n net/ipv4/conf/eth0.500/forwarding")
			if !strings.HasSuffix(strings.TrimSpace(up), "1") {
				t.Errorf("forwarding is off on eth0.500 after up")
			}
			if role != "router" && !strings.Contains(up, "iif eth0.500 lookup 500") {
				t.Errorf("no rule iif eth0.500 lookup 500 after up:\n%s", up)
			}
			for _, c := range cmds["down"] {
				ns.Run(t, "sh", "-c", c)
			}
			if after := ns.Run(t, "sh", "-c", "ip rule; ip -6 rule; arptables -S; iptables -t nat -S"); after != baseline {
				t.Errorf("down left state behind (-before +after):\n%s", cmp.Diff(baseline, after))
			}
		})
	}
}

// TestHooksAreShellcheckClean runs shellcheck on the hooks when it is
// installed (it is a linter, not a runtime prerequisite).
func TestHooksAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skipf("skipping: shellcheck not installed: %v", err)
	}
	hooks := []string{"ganeti/kvm-ifup-custom", "ganeti/kvm-ifdown-custom", "libvirt/qemu"}
	for _, h := range hooks {
		if out, err := exec.Command("shellcheck", "-s", "sh", filepath.Join(contribDir, h)).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", h, err, out)
		}
	}
}

// TestDebPackageInstalls builds the package as `make deb` does (a static
// binary and contrib/debian/build-deb.sh), installs it with dpkg into an
// empty root, runs the installed binary there, and purges it again.
func TestDebPackageInstalls(t *testing.T) {
	requirePrereqs(t, "dpkg", "dpkg-deb", "chroot", "go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "nfdhcpd-static")
	const version = "0.1.0+test1"
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.buildVersion="+version, "-o", bin, "github.com/nfdhcpd/nfdhcpd/cmd/nfdhcpd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	out, err := exec.Command("sh", filepath.Join(contribDir, "debian", "build-deb.sh"), bin, version, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out))

	// An empty system: nothing but dpkg's own database. Maintainer scripts
	// run outside the root with DPKG_ROOT set, which they honour.
	root := filepath.Join(dir, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("dpkg", append([]string{"--root=" + root, "--force-script-chrootless"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	dpkg("-i", deb)
	if status := dpkg("-s", "nfdhcpd"); !strings.Contains(status, "Status: install ok installed") {
		t.Fatalf("package not installed:\n%s", status)
	}
	for _, f := range []string{"usr/sbin/nfdhcpd", "lib/systemd/system/nfdhcpd.service", "etc/nfdhcpd/nfdhcpd.conf",
		"usr/share/man/man8/nfdhcpd.8.gz", "usr/lib/nfdhcpd/hooks/ganeti/kvm-ifup-custom", "usr/lib/nfdhcpd/hooks/libvirt/qemu",
		"usr/share/doc/nfdhcpd/examples/iptables/rules.v4", "usr/share/doc/nfdhcpd/examples/bird/vmhost.conf", "var/lib/nfdhcpd"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("installed package lacks /%s: %v", f, err)
		}
	}
	// chroot: the installed binary runs with nothing else in the root.
	got, err := exec.Command("chroot", root, "/usr/sbin/nfdhcpd", "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "nfdhcpd "+version {
		t.Errorf("nfdhcpd --version in the new root: %v: %q, want %q", err, got, "nfdhcpd "+version)
	}
	if got, err := exec.Command("chroot", root, "/usr/sbin/nfdhcpd", "check", "-c", "/etc/nfdhcpd/nfdhcpd.conf").CombinedOutput(); err != nil {
		t.Errorf("the shipped configuration does not pass check: %v\n%s", err, got)
	}
	dpkg("-P", "nfdhcpd")
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/nfdhcpd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("binary still there after purge: %v", err)
	}
}

// TestSystemdNotify stands in for systemd: it gives the daemon a
// NOTIFY_SOCKET and a watchdog, and checks READY=1 comes only once the
// queues are bound, watchdog pings arrive, a reload is bracketed by
// RELOADING=1 and READY=1, and SIGTERM sends STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	requirePrereqs(t)
	sockPath := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sockPath)
	t.Setenv("WATCHDOG_USEC", "300000")

	hv := newNetns(t, "notify")
	installQueueRules(t, hv)
	conf := defaultConfig(newDatapath(t))

	type message struct {
		state       string
		queuesBound bool
	}
	msgs := make(chan message, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- message{string(buf[:n]), queuesBound(hv, conf.queues()...)}
		}
	}()
	next := func(prefix string) message {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("notify socket closed before %q", prefix)
				}
				if strings.HasPrefix(m.state, prefix) {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q notification within 5s", prefix)
			}
		}
	}

	d := startDaemon(t, hv, conf)
	if m := next("READY=1"); !m.queuesBound {
		t.Errorf("READY=1 (%q) was sent before the queues were bound", m.state)
	}
	start := time.Now()
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("two watchdog pings took %v with WatchdogSec=0.3s", el)
	}

	d.Signal(t, syscall.SIGHUP)
	if m := next("RELOADING=1"); !strings.Contains(m.state, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m.state)
	}
	next("READY=1")

	d.Stop(t)
	next("STOPPING=1")
}
