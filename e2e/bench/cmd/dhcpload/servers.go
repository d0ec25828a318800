package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nfdhcpd/nfdhcpd/e2e/bench"
)

// A server is one DHCP server under test, or the null responder.
type server struct {
	name string
	// queued servers sit behind the NFQUEUE rule; the others listen on
	// the TAP themselves.
	queued bool
	// null servers answer nothing: the load is DISCOVERs only and the
	// figure is the packets they received.
	null bool
	// localPort is where perfdhcp expects this server's replies (see
	// servers()).
	localPort int
	// command returns the command line and its environment, after writing
	// whatever configuration the server needs for the VMs of t into dir.
	command func(dir string, t *topology) (args, env []string, err error)
}

// nullName is the null responder's row: the daemon's own queue reader
// (responder.Queue) dropping every packet unlooked-at.
const nullName = "null responder"

// servers returns the servers to compare, in table order.
//
// perfdhcp's DHCPv4 client always behaves as a relay: it fills giaddr with
// its own address and listens on port 67 (RFC 2131 §4.1 has servers answer
// a relay there). dnsmasq and Kea do; nfdhcpd serves only VMs attached to
// the host and answers the client port 68, so perfdhcp listens on 68 for it
// (-L 68). Either way one DORA exchange is two requests and two replies.
func servers(nfdhcpdBin, nullBin string) []server {
	return []server{
		{name: "nfdhcpd", queued: true, localPort: 68, command: func(dir string, t *topology) ([]string, []string, error) {
			return nfdhcpdCommand(nfdhcpdBin, dir, t)
		}},
		{name: nullName, queued: true, null: true, command: func(string, *topology) ([]string, []string, error) {
			return []string{nullBin, "-queue", fmt.Sprint(queueNum)}, nil, nil
		}},
		{name: "dnsmasq", command: dnsmasqCommand},
		{name: "kea-dhcp4", command: keaCommand},
	}
}

// writeBindings writes a binding file for every VM of t into a data
// directory under dir and returns the directory.
func writeBindings(dir string, t *topology) (string, error) {
	data := filepath.Join(dir, "bindings")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", err
	}
	for _, vm := range t.vms() {
		b := fmt.Sprintf("MAC=%s\nIP=%s\nSUBNET=192.0.2.0/%s\nGATEWAY=%s\nHOSTNAME=%s.example.org\n", vm.mac, vm.ip, prefixLen, hostAddr, vm.hostname)
		if err := os.WriteFile(filepath.Join(data, vm.tap), []byte(b), 0o644); err != nil {
			return "", err
		}
	}
	return data, nil
}

func nfdhcpdCommand(bin, dir string, t *topology) ([]string, []string, error) {
	data, err := writeBindings(dir, t)
	if err != nil {
		return nil, nil, err
	}
	conf := fmt.Sprintf(`[general]
datapath = %s
pidfile = %s
control_socket = %s
# One TAP carries the whole load: the per-TAP rate limit would measure
# itself, not the daemon.
rate_limit = 0
[dhcp]
enable_dhcp = yes
dhcp_queue = %d
lease_lifetime = 604800
lease_renewal = 600
server_on_link = yes
nameservers = 192.0.2.53
domain = example.org
[ipv6]
enable_ipv6 = no
`, data, filepath.Join(dir, "nfdhcpd.pid"), filepath.Join(dir, "nfdhcpd.sock"), queueNum)
	path := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	// No -d: debug logging writes a line per packet, which no operator
	// runs at scale.
	return []string{bin, "-c", path, "-f"}, nil, nil
}

// dnsmasqCommand serves every VM of t from a static host entry, on every
// TAP, with DNS off, and logs only errors. It keeps a lease file, as
// dnsmasq's users run it (libvirt, OpenStack): with --leasefile-ro and no
// lease script dnsmasq still keeps the leases in memory, so the file is
// what changes.
func dnsmasqCommand(dir string, t *topology) ([]string, []string, error) {
	args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--bind-interfaces",
		"--dhcp-range=192.0.2.0,static,255.255.255.0,604800"}
	for _, name := range append(t.loadedTAPs(), t.idleTAPs()...) {
		args = append(args, "--interface="+name)
	}
	for _, vm := range t.vms() {
		args = append(args, "--dhcp-host="+vm.mac+","+vm.ip+","+vm.hostname)
	}
	return append(args,
		"--dhcp-option=option:router,"+hostAddr,
		"--dhcp-option=option:dns-server,192.0.2.53",
		"--domain=example.org",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"), "--no-ping", "--dhcp-authoritative", "--quiet-dhcp",
		"--log-facility="+filepath.Join(dir, "dnsmasq.log"),
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
	), nil, nil
}

// keaCommand serves every VM of t from a reservation, listening on every
// TAP (the subnet is chosen by the receiving TAP's address for a booting
// client, by giaddr for perfdhcp's relayed requests), with an in-memory
// lease database and Kea's default threading (single-threaded in Kea
// 2.2).
func keaCommand(dir string, t *topology) ([]string, []string, error) {
	ifaces, _ := json.Marshal(append(t.loadedTAPs(), t.idleTAPs()...))
	type reservation struct {
		HWAddress string `json:"hw-address"`
		IPAddress string `json:"ip-address"`
		Hostname  string `json:"hostname"`
	}
	var rs []reservation
	for _, vm := range t.vms() {
		rs = append(rs, reservation{vm.mac, vm.ip, vm.hostname})
	}
	reservations, _ := json.Marshal(rs)
	conf := fmt.Sprintf(`{"Dhcp4": {
  "interfaces-config": {"interfaces": %s},
  "lease-database": {"type": "memfile", "persist": false},
  "valid-lifetime": 604800, "renew-timer": 600, "rebind-timer": 529200,
  "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"}, {"name": "domain-name", "data": "example.org"}],
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/%s",
    "option-data": [{"name": "routers", "data": %q}],
    "reservations": %s}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "WARN"}]
}}
`, ifaces, prefixLen, hostAddr, reservations)
	path := filepath.Join(dir, "kea-dhcp4.json")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	env := []string{"KEA_LOCKFILE_DIR=" + dir, "KEA_PIDFILE_DIR=" + dir}
	return []string{"kea-dhcp4", "-c", path}, env, nil
}

// start starts s in the hypervisor namespace.
func start(t *topology, s server, dir string) (*bench.Process, error) {
	args, env, err := s.command(dir, t)
	if err != nil {
		return nil, fmt.Errorf("dhcpload: %s: configure: %w", s.name, err)
	}
	p, err := bench.Start(t.hv, filepath.Join(dir, strings.ReplaceAll(s.name, " ", "-")+".out"), env, args...)
	if err != nil {
		return nil, fmt.Errorf("dhcpload: %s: start: %w", s.name, err)
	}
	return p, nil
}

var errNotReady = errors.New("server not ready")

// waitReady polls until the server answers a DORA exchange of every
// client, or, for the
// null responder, until the queue is bound.
func waitReady(ctx context.Context, t *topology, s server, p *bench.Process) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("dhcpload: %s exited: %v\n%s", s.name, p.Err(), p.Tail())
		}
		if s.null {
			if queueBound(t) {
				return nil
			}
		} else if res, _, err := runClients(ctx, t, perfRun{Rate: 10 * len(t.clients), Seconds: 1, LocalPort: s.localPort}); err == nil && slices.Min(res.ACKs) > 0 {
			// Every client has had an exchange: the first trial does
			// not pay for anyone's first lease or neighbour lookup.
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("dhcpload: %s: %w after 15 s\n%s", s.name, errNotReady, p.Tail())
}

// queueBound reports whether a program has bound the queue in the
// hypervisor namespace (its line in nfnetlink_queue).
func queueBound(t *topology) bool {
	out, err := exec.Command("ip", "netns", "exec", t.hv, "cat", "/proc/net/netfilter/nfnetlink_queue").Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == fmt.Sprint(queueNum) {
			return true
		}
	}
	return false
}
