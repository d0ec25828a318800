package routing_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

// needRoot skips the test when it cannot create network namespaces,
// except under CI=true where that is a failure.
func needRoot(t *testing.T) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "need root to create network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		reason = "need ip(8) to set up the namespace: " + err.Error()
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", reason)
	}
	t.Skipf("skipping: %s", reason)
}

// testNetns is a network namespace of the test, deleted at cleanup.
type testNetns struct {
	name string
	h    netns.NsHandle
}

// newTestNetns creates a uniquely named namespace.
func newTestNetns(t *testing.T) *testNetns {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("routing-%d-%s", os.Getpid(), strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"))
	if len(name) > 60 {
		name = name[:60]
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("current namespace: %v", err)
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if err != nil {
		netns.Set(orig)
		t.Fatalf("create namespace %s: %v", name, err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("return to the original namespace: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	n := &testNetns{name: name, h: h}
	n.ip(t, "link set lo up")
	return n
}

// ip runs ip(8) in the namespace and returns its output.
func (n *testNetns) ip(t *testing.T, args string) string {
	t.Helper()
	return n.run(t, "ip", append([]string{"-n", n.name}, strings.Fields(args)...)...)
}

// exec runs a command inside the namespace.
func (n *testNetns) exec(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	return n.run(t, "ip", append([]string{"netns", "exec", n.name, cmd}, args...)...)
}

func (n *testNetns) run(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	out, err := exec.Command(cmd, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", cmd, strings.Join(args, " "), err, out)
	}
	return string(out)
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
