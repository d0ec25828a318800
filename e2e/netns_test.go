package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// requirePrereqs skips the test when it cannot run here: not root, or one of
// cmds is not installed. Under CI=true every missing prerequisite is a
// failure instead, so a CI run never passes by skipping.
func requirePrereqs(t testing.TB, cmds ...string) {
	t.Helper()
	netnstest.RequireRoot(t)
	for _, c := range append([]string{"ip", "iptables-restore", "ip6tables-restore"}, cmds...) {
		if _, err := exec.LookPath(c); err != nil {
			netnstest.MissingPrerequisite(t, "need command %q: %v", c, err)
		}
	}
}

// uniqueSuffix returns a short random hex string that makes namespace names
// unique across concurrent test runs and engineers.
func uniqueSuffix(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("%d-%s", os.Getpid(), netnstest.RandomHex(3))
}

// uniqueIfName returns an interface name no other test run uses:
// "e2e" and 12 random hex digits, within the kernel's 15 bytes.
func uniqueIfName(t testing.TB) string {
	t.Helper()
	return "e2e" + netnstest.RandomHex(6)
}

// A Netns is a named network namespace created for one test.
type Netns struct {
	Name string
}

// newNetns creates a uniquely named namespace "nfd-e2e-ROLE-PID-RAND" with
// its loopback up, and deletes it (after killing whatever still runs in it)
// when the test ends.
func newNetns(t testing.TB, role string) *Netns {
	t.Helper()
	n := &Netns{Name: "nfd-e2e-" + role + "-" + uniqueSuffix(t)}
	netnstest.NewNamespace(t, n.Name)
	return n
}

// Command returns a command that runs argv inside the namespace. Helpers
// that a client forks (dhcpcd's privilege-separation processes) may keep
// its output pipes open after it exits or is killed: WaitDelay bounds how
// long Wait waits for them.
func (n *Netns) Command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name}, argv...)...)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Run runs argv inside the namespace, fails the test when it fails, and
// returns its standard output.
func (n *Netns) Run(t testing.TB, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := n.Command(ctx, argv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("e2e: in %s: %s: %v: %s%s", n.Name, strings.Join(argv, " "), err, out, stderr.String())
	}
	return string(out)
}

// RunInput is Run with stdin as the command's standard input.
func (n *Netns) RunInput(t testing.TB, stdin string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := n.Command(ctx, argv...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("e2e: in %s: %s: %v: %s%s", n.Name, strings.Join(argv, " "), err, out, stderr.String())
	}
	return string(out)
}

// Try runs argv inside the namespace and returns its combined output and
// error without failing the test.
func (n *Netns) Try(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := n.Command(ctx, argv...).CombinedOutput()
	return string(out), err
}

// Do runs f on an OS thread switched into the namespace. Sockets created by f
// stay in the namespace after the thread switches back, which is how the Go
// DHCP client lives in a VM namespace.
func (n *Netns) Do(f func() error) error {
	// A goroutine of its own: a thread that cannot leave the namespace
	// stays locked in it and dies with this goroutine, while the caller
	// goes on in its own namespace.
	errc := make(chan error, 1)
	go func() { errc <- netnstest.Do(n.Name, f) }()
	return <-errc
}

// A Link is one veth pair standing in for a VM NIC: Tap is the host end in
// the hypervisor namespace (named like a TAP), and the VM end is eth0 in its
// own namespace.
type Link struct {
	Tap    string
	TapMAC net.HardwareAddr
	VM     *Netns
	VMIf   string
	VMMAC  net.HardwareAddr
}

// connectVM creates a VM namespace and a veth pair between it and hv: the
// host end is named tap, the VM end is eth0 with the given MAC. Both ends are
// up; the VM's IPv6 autoconfiguration is left on (the IPv6 tests need it).
func connectVM(t testing.TB, hv *Netns, tap string, vmMAC net.HardwareAddr) *Link {
	t.Helper()
	return connectVMNamed(t, hv, tap, "eth0", vmMAC)
}

// connectVMNamed is connectVM with the VM end named vmIf, for clients that
// keep state named after the interface outside the namespace (dhcpcd).
func connectVMNamed(t testing.TB, hv *Netns, tap, vmIf string, vmMAC net.HardwareAddr) *Link {
	t.Helper()
	vm := newNetns(t, "vm")
	l := &Link{Tap: tap, VM: vm, VMIf: vmIf, VMMAC: vmMAC}
	hv.Run(t, "ip", "link", "add", tap, "type", "veth", "peer", "name", l.VMIf, "netns", vm.Name)
	vm.Run(t, "ip", "link", "set", l.VMIf, "address", vmMAC.String())
	vm.Run(t, "ip", "link", "set", l.VMIf, "up")
	hv.Run(t, "ip", "link", "set", tap, "up")
	l.TapMAC = linkMAC(t, hv, tap)
	return l
}

// linkMAC returns the hardware address of an interface in ns.
func linkMAC(t testing.TB, ns *Netns, ifname string) net.HardwareAddr {
	t.Helper()
	out := ns.Run(t, "cat", "/sys/class/net/"+ifname+"/address")
	mac, err := net.ParseMAC(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("e2e: MAC of %s in %s: %v", ifname, ns.Name, err)
	}
	return mac
}

// Queue numbers the harness installs rules for; they match the daemon's
// defaults.
const (
	queueDHCPv4 = 42
	queueRS     = 43
	queueNS     = 44
	queueDHCPv6 = 45
)

// installQueueRules installs the routed-setup capture rules of the README in
// hv: DHCPv4, Router Solicitation, Neighbor Solicitation and DHCPv6 from any
// tap+ interface go to the daemon's queues, fail-open when it is not
// listening. One restore per family keeps namespace setup cheap.
func installQueueRules(t testing.TB, hv *Netns) {
	t.Helper()
	v4 := fmt.Sprintf(`*mangle
-A PREROUTING -i tap+ -p udp --dport 67 -j NFQUEUE --queue-num %d --queue-bypass
COMMIT
`, queueDHCPv4)
	v6 := fmt.Sprintf(`*mangle
-A PREROUTING -i tap+ -p icmpv6 --icmpv6-type router-solicitation -j NFQUEUE --queue-num %d --queue-bypass
-A PREROUTING -i tap+ -p icmpv6 --icmpv6-type neighbour-solicitation -j NFQUEUE --queue-num %d --queue-bypass
-A PREROUTING -i tap+ -p udp --dport 547 -j NFQUEUE --queue-num %d --queue-bypass
COMMIT
`, queueRS, queueNS, queueDHCPv6)
	hv.RunInput(t, v4, "iptables-restore", "--noflush")
	hv.RunInput(t, v6, "ip6tables-restore", "--noflush")
}

// installBridgedQueueRules installs the bridged-setup capture rules of the
// README in hv: packets that entered a bridge through a tap+ port, matched
// with physdev (bridge netfilter, on by default in a new namespace), go to
// the same queues as in the routed setup.
func installBridgedQueueRules(t testing.TB, hv *Netns) {
	t.Helper()
	v4 := fmt.Sprintf(`*mangle
-A PREROUTING -m physdev --physdev-in tap+ -p udp --dport 67 -j NFQUEUE --queue-num %d --queue-bypass
COMMIT
`, queueDHCPv4)
	v6 := fmt.Sprintf(`*mangle
-A PREROUTING -m physdev --physdev-in tap+ -p icmpv6 --icmpv6-type router-solicitation -j NFQUEUE --queue-num %d --queue-bypass
-A PREROUTING -m physdev --physdev-in tap+ -p icmpv6 --icmpv6-type neighbour-solicitation -j NFQUEUE --queue-num %d --queue-bypass
-A PREROUTING -m physdev --physdev-in tap+ -p udp --dport 547 -j NFQUEUE --queue-num %d --queue-bypass
COMMIT
`, queueRS, queueNS, queueDHCPv6)
	hv.RunInput(t, v4, "iptables-restore", "--noflush")
	hv.RunInput(t, v6, "ip6tables-restore", "--noflush")
}

// addBridge creates bridge br in ns, up, and enslaves the given ports.
func addBridge(t testing.TB, ns *Netns, br string, ports ...string) {
	t.Helper()
	ns.Run(t, "ip", "link", "add", br, "type", "bridge")
	for _, p := range ports {
		ns.Run(t, "ip", "link", "set", p, "master", br)
	}
	ns.Run(t, "ip", "link", "set", br, "up")
}

// queuesBound reports whether every queue in nums has a listener in ns,
// according to the kernel's per-namespace nfnetlink_queue table.
func queuesBound(ns *Netns, nums ...int) bool {
	out, err := ns.Try("cat", "/proc/net/netfilter/nfnetlink_queue")
	if err != nil {
		return false
	}
	bound := map[int]bool{}
	for _, line := range strings.Split(out, "\n") {
		var q int
		if _, err := fmt.Sscan(line, &q); err == nil {
			bound[q] = true
		}
	}
	for _, q := range nums {
		if !bound[q] {
			return false
		}
	}
	return true
}
