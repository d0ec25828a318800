package routing_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// testNetns is a network namespace of the test, deleted at cleanup.
type testNetns struct {
	name string
	h    netns.NsHandle
}

// newTestNetns creates a uniquely named namespace.
func newTestNetns(t *testing.T) *testNetns {
	t.Helper()
	netnstest.RequireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		netnstest.MissingPrerequisite(t, "need ip(8) to set up the namespace: %v", err)
	}
	name := fmt.Sprintf("routing-%d-%s", os.Getpid(), strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"))
	if len(name) > 60 {
		name = name[:60]
	}
	netnstest.NewNamespace(t, name)
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	return &testNetns{name: name, h: h}
}

// ip runs ip(8) in the namespace and returns its output.
func (n *testNetns) ip(t *testing.T, args string) string {
	t.Helper()
	return netnstest.Run(t, append([]string{"ip", "-n", n.name}, strings.Fields(args)...)...)
}

// exec runs a command inside the namespace.
func (n *testNetns) exec(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	return netnstest.Run(t, append([]string{"ip", "netns", "exec", n.name, cmd}, args...)...)
}

// addLink creates a veth pair name/name+"p", both up: a stand-in for a
// TAP or an uplink.
func (n *testNetns) addLink(t *testing.T, name string) {
	t.Helper()
	n.ip(t, "link add "+name+" type veth peer name "+name+"p")
	n.ip(t, "link set "+name+" up")
	n.ip(t, "link set "+name+"p up")
}

func newNetlinkKernel(t *testing.T, n *testNetns) *routing.Netlink {
	t.Helper()
	k, err := routing.NewNetlinkAt(n.h)
	if err != nil {
		t.Fatalf("NewNetlinkAt: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// recordingKernel passes ops through to a real kernel and records them.
type recordingKernel struct {
	routing.Kernel
	ops []string
}

func (k *recordingKernel) Apply(op routing.Op) error {
	k.ops = append(k.ops, op.String())
	return k.Kernel.Apply(op)
}
