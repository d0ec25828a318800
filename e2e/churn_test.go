package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// churnFiles is how many binding files each churn round writes.
const churnFiles = 2000

// churnLinks is how many of them get a TAP (a veth) that is created,
// deleted and created again.
const churnLinks = 200

// churnName names churn binding file i.
func churnName(i int) string { return fmt.Sprintf("tapc%04d", i) }

// churnBinding renders churn binding i; round changes its address.
func churnBinding(i, round int) string {
	mac := net.HardwareAddr{0x52, 0x54, 0x01, byte(round), byte(i >> 8), byte(i)}
	return bindingFile("MAC", mac.String(), "IP", fmt.Sprintf("198.51.%d.%d", 100+round%3, i%250+1),
		"SUBNET", fmt.Sprintf("198.51.%d.0/24", 100+round%3), "HOSTNAME", churnName(i))
}

// A renewer renews one lease over and over until stopped and counts the
// renewals that got no ACK.
type renewer struct {
	ok, failed int
	failures   []string
	stop       chan struct{}
	done       sync.WaitGroup
}

// renew starts renewing ip from c every pace: a REQUEST with ciaddr, as a
// client in RENEWING state sends, which must be ACKed within a second.
func renew(t *testing.T, c *rawDHCPClient, ip netip.Addr, pace time.Duration) *renewer {
	r := &renewer{stop: make(chan struct{})}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		req := dhcpRequest{Type: layers.DHCPMsgTypeRequest, ClientIP: ip}
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(pace):
			}
			reply, err := c.exchange(req, time.Second)
			switch {
			case err == nil && dhcpMsgType(reply) == layers.DHCPMsgTypeAck && yourIP(reply) == ip:
				r.ok++
			case errors.Is(err, errNoReply) || err == nil:
				r.failed++
				r.failures = append(r.failures, fmt.Sprintf("%s: %s", time.Now().Format("15:04:05.000"), describeReply(reply)))
			default:
				r.failed++
				r.failures = append(r.failures, err.Error())
			}
		}
	}()
	return r
}

// Stop ends the renewals.
func (r *renewer) Stop() {
	close(r.stop)
	r.done.Wait()
}

// daemonFDs counts the daemon's open file descriptors.
func daemonFDs(t *testing.T, d *Daemon) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("daemon fds: %v", err)
	}
	return len(fds)
}

// daemonGoroutines reads go_goroutines from the metrics the daemon serves on
// its control socket.
func daemonGoroutines(t *testing.T, socket string) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, // no connection left open to count as the daemon's fd
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := client.Get("http://nfdhcpd/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	v := metricValue(string(body), "go_goroutines")
	if v < 0 {
		t.Fatalf("metrics have no go_goroutines:\n%s", body)
	}
	return int(v)
}

// waitBindings waits until the status shows want bindings by state, for up
// to 20 s (a daemon built with -race takes a few seconds for thousands).
func waitBindings(t *testing.T, socket string, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := status(t, socket)
		ok := true
		for state, n := range want {
			ok = ok && s.BindingsN[state] == n
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed bindings %v; last: %v", want, s.BindingsN)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// churnIPBatch runs `ip -batch` with lines in ns.
func churnIPBatch(t *testing.T, ns *Netns, lines []string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns.Run(t, "ip", "-batch", f)
}

// TestControlPlaneChurn renews one VM's lease every 20 ms while thousands of
// other binding files are created (renamed in and written in place),
// rewritten and removed, their TAPs created, deleted and created again, a
// burst large enough to overflow the watcher's queue is thrown at the
// directory, the VM's own file is rewritten identically, and the whole data
// directory is replaced. No renewal may fail, every phase must show in the
// daemon's status, and the daemon ends with the file descriptors it started
// with and a bounded number of threads.
func TestControlPlaneChurn(t *testing.T) {
	hv := newHypervisor(t)
	l := connectVM(t, hv, "tap0", vmMAC(0x41))
	conf := dhcpv4Config(t)
	socket := conf["general"]["control_socket"]
	d := startDaemon(t, hv, conf)
	ip := netip.MustParseAddr("192.0.2.41")
	own := vmBinding(l, ip.String(), "churn")
	d.WriteBinding(t, "tap0", own)
	waitBindings(t, socket, map[string]int{"active": 1})
	c := rawClient(t, l, l.VMMAC)
	mustExchange(t, c, dhcpRequest{Type: layers.DHCPMsgTypeRequest, ClientIP: ip})
	goroutinesBefore := daemonGoroutines(t, socket)
	time.Sleep(100 * time.Millisecond) // the daemon closes its end of the metrics connection
	fdsBefore, threadsBefore := daemonFDs(t, d), daemonProc(t, d, "Threads")

	renewers := []*renewer{renew(t, c, ip, 20*time.Millisecond)}
	defer func() {
		select {
		case <-renewers[len(renewers)-1].stop:
		default:
			renewers[len(renewers)-1].Stop()
		}
	}()
	phase := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		t.Logf("churn phase %q done in %v", name, time.Since(start).Round(time.Millisecond))
	}

	phase("create, half renamed in, half in place", func() {
		for i := range churnFiles {
			if i%2 == 0 {
				d.WriteBinding(t, churnName(i), churnBinding(i, 0))
			} else {
				d.WriteBindingInPlace(t, churnName(i), churnBinding(i, 0))
			}
		}
		waitBindings(t, socket, map[string]int{"active": 1, "pending": churnFiles})
	})
	phase("rewrite all, and the VM's own file identically", func() {
		for i := range churnFiles {
			d.WriteBinding(t, churnName(i), churnBinding(i, 1))
			if i%40 == 0 {
				d.WriteBinding(t, "tap0", own)
			}
		}
		waitBindings(t, socket, map[string]int{"active": 1, "pending": churnFiles})
	})
	phase("TAPs created, deleted, created again", func() {
		var add, del []string
		for i := range churnLinks {
			// veth: this kernel has no dummy links.
			add = append(add, fmt.Sprintf("link add %s type veth peer name churnpeer%04d", churnName(i), i))
			del = append(del, "link del "+churnName(i))
		}
		churnIPBatch(t, hv, add)
		waitBindings(t, socket, map[string]int{"active": 1 + churnLinks, "pending": churnFiles - churnLinks})
		churnIPBatch(t, hv, del)
		waitBindings(t, socket, map[string]int{"active": 1, "pending": churnFiles})
		churnIPBatch(t, hv, add)
		waitBindings(t, socket, map[string]int{"active": 1 + churnLinks, "pending": churnFiles - churnLinks})
	})
	phase("remove all", func() {
		for i := range churnFiles {
			d.RemoveBinding(t, churnName(i))
		}
		waitBindings(t, socket, map[string]int{"active": 1, "pending": 0})
	})
	phase("watcher overflow: 10000 files written while the daemon is stopped, then removed", func() {
		// A stopped daemon reads no events: 20000 of them (create and
		// write of each file) overflow the kernel's inotify queue
		// (fs.inotify.max_queued_events, 16384 by default). The renewals
		// pause meanwhile: a stopped daemon answers nobody.
		renewers[len(renewers)-1].Stop()
		d.Signal(t, syscall.SIGSTOP)
		for i := range 10000 {
			d.WriteBindingInPlace(t, churnName(i), churnBinding(i, 2))
		}
		d.Signal(t, syscall.SIGCONT)
		renewers = append(renewers, renew(t, c, ip, 20*time.Millisecond))
		d.WaitLog(t, 20*time.Second, "directory events lost, rescanning")
		waitBindings(t, socket, map[string]int{"active": 1 + churnLinks, "pending": 10000 - churnLinks})
		for i := range 10000 {
			d.RemoveBinding(t, churnName(i))
		}
		waitBindings(t, socket, map[string]int{"active": 1, "pending": 0, "invalid": 0})
	})
	phase("data directory replaced", func() {
		next := d.Datapath + ".next"
		mustMkdir(t, next)
		files := map[string]string{"tap0": own}
		for i := range churnFiles / 4 {
			files[churnName(i)] = churnBinding(i, 3)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(next, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old := d.Datapath + ".old"
		if err := os.Rename(d.Datapath, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, d.Datapath); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(old); err != nil {
			t.Fatal(err)
		}
		waitBindings(t, socket, map[string]int{"active": 1 + churnLinks, "pending": churnFiles/4 - churnLinks})
	})
	phase("data directory removed and recreated", func() {
		// Moved off its path in one step, as a whole: an `rm -rf` would
		// unlink the files one by one first, which is the hooks removing
		// every binding, and the daemon must follow that.
		gone := d.Datapath + ".gone"
		if err := os.Rename(d.Datapath, gone); err != nil {
			t.Fatal(err)
		}
		d.WaitLog(t, 5*time.Second, "cannot watch the binding directory")
		// The known bindings stay while the directory is gone.
		waitBindings(t, socket, map[string]int{"active": 1 + churnLinks, "pending": churnFiles/4 - churnLinks})
		time.Sleep(300 * time.Millisecond)
		tmp := d.Datapath + ".new"
		mustMkdir(t, tmp)
		if err := os.WriteFile(filepath.Join(tmp, "tap0"), []byte(own), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, d.Datapath); err != nil {
			t.Fatal(err)
		}
		// A new directory holding only the VM's file replaces them all.
		waitBindings(t, socket, map[string]int{"active": 1, "pending": 0})
		if err := os.RemoveAll(gone); err != nil {
			t.Fatal(err)
		}
	})
	time.Sleep(200 * time.Millisecond)
	renewers[len(renewers)-1].Stop()

	var ok, failed int
	var failures []string
	for _, r := range renewers {
		ok, failed, failures = ok+r.ok, failed+r.failed, append(failures, r.failures...)
	}
	t.Logf("FIGURE churn: renewals %d ACKed, %d failed", ok, failed)
	if failed > 0 {
		t.Errorf("%d of %d renewals failed during the churn: %q", failed, ok+failed, failures)
	}
	if ok < 50 {
		t.Errorf("only %d renewals ran during the churn", ok)
	}
	goroutinesAfter := daemonGoroutines(t, socket)
	// Connections of the status and metrics requests close a moment after
	// their answer: give them a second before counting.
	fdsAfter := daemonFDs(t, d)
	for deadline := time.Now().Add(time.Second); fdsAfter != fdsBefore && time.Now().Before(deadline); fdsAfter = daemonFDs(t, d) {
		time.Sleep(50 * time.Millisecond)
	}
	threadsAfter := daemonProc(t, d, "Threads")
	t.Logf("FIGURE churn: daemon fds %d before, %d after; threads %d before, %d after; goroutines %d before, %d after",
		fdsBefore, fdsAfter, threadsBefore, threadsAfter, goroutinesBefore, goroutinesAfter)
	if goroutinesAfter > goroutinesBefore+2 {
		t.Errorf("the daemon had %d goroutines before the churn and %d after", goroutinesBefore, goroutinesAfter)
	}
	if fdsAfter != fdsBefore {
		t.Errorf("the daemon had %d file descriptors before the churn and %d after", fdsBefore, fdsAfter)
	}
	if threadsAfter > threadsBefore+8 {
		t.Errorf("the daemon had %d threads before the churn and %d after", threadsBefore, threadsAfter)
	}
	d.Stop(t)
}
