package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// TestDemo runs e2e/demo.sh, what `make demo` runs, so that the README's
// first command keeps working: the VM must come up on IPv4 (a DHCPv4 lease)
// and IPv6 (a SLAAC address from the Router Advertisement, DNS servers over
// stateless DHCPv6), the daemon's log must show the answers, and nothing
// may be left behind. The script creates and deletes its own namespaces
// (nfd-demo-*), as it does for a user.
func TestDemo(t *testing.T) {
	netnstest.RequireRoot(t)
	for _, c := range []string{"ip", "iptables", "ip6tables", "udhcpc", "dhclient"} {
		if _, err := exec.LookPath(c); err != nil {
			netnstest.MissingPrerequisite(t, "the demo needs %s (make demo-deps): %v", c, err)
		}
	}
	cmd := exec.Command("./demo.sh", os.Getenv(binEnv))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"address   192.0.2.10\n",
		"DNS       192.0.2.53 192.0.2.54\n",
		"address   2001:db8:1:0:5054:ff:fe12:3456/64 ",
		"MTU       1450\n",
		"DNS       2001:db8:53::1\n",
		"search    example.org.\n",
		`msg="DHCPv4 answered" TAP=tap-demo MAC=52:54:00:12:34:56 IP=192.0.2.10 MSG=ACK`,
		`REPLY="router advertisement"`,
		`REPLY="DHCPv6 reply"`,
		"exit status 0 after SIGTERM",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	// The script names its namespaces after its process ID.
	suffix := fmt.Sprintf("-%d", cmd.Process.Pid)
	list, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	for _, ns := range []string{"nfd-demo-hv" + suffix, "nfd-demo-vm" + suffix} {
		if !strings.Contains(string(out), ns) {
			t.Fatalf("the demo's output does not name namespace %s:\n%s", ns, out)
		}
		if strings.Contains(string(list), ns) {
			t.Errorf("the demo left namespace %s behind", ns)
		}
	}
}
