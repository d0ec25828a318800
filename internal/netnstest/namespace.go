package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// RandomHex returns n random bytes as hex digits: a suffix that keeps the
// names of namespaces and interfaces apart across concurrent test runs.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never returns an error.
	return hex.EncodeToString(b)
}

// NewNamespace creates the network namespace name with its loopback up.
// When the test ends it kills the processes still running in it (clients
// such as dhcpcd leave helpers behind, which would outlive it) and deletes
// it. A namespace that cannot be created is a missing prerequisite.
func NewNamespace(t testing.TB, name string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		MissingPrerequisite(t, "cannot create network namespace %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { deleteNamespace(t, name) })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// deleteNamespace kills the processes left in namespace name and deletes
// it.
func deleteNamespace(t testing.TB, name string) {
	pids, _ := exec.Command("ip", "netns", "pids", name).Output()
	for _, pid := range strings.Fields(string(pids)) {
		_ = exec.Command("kill", "-9", pid).Run()
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Errorf("netnstest: delete namespace %s: %v: %s", name, err, out)
	}
}

// Do runs fn on the calling goroutine's OS thread switched into the
// network namespace name, then switches the thread back. Sockets fn
// creates belong to that namespace for good. It returns fn's error, or
// why the thread could not enter or leave the namespace.
func Do(name string, fn func() error) (err error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: current namespace: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: open namespace %s: %w", name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: enter namespace %s: %w", name, err)
	}
	// Deferred, so that the thread also goes back when fn ends its
	// goroutine (t.Fatal).
	defer func() {
		if lerr := netns.Set(orig); lerr != nil {
			// A thread that cannot go back stays locked, so the runtime
			// discards it when its goroutine ends instead of letting it
			// serve other goroutines in the wrong namespace.
			err = errors.Join(err, fmt.Errorf("netnstest: leave namespace %s: %w", name, lerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// InNS runs fn on the calling goroutine's thread switched into the network
// namespace name, as Do does, and fails t when the thread cannot enter or
// leave it.
func InNS(t testing.TB, name string, fn func()) {
	t.Helper()
	if err := Do(name, func() error { fn(); return nil }); err != nil {
		t.Fatal(err)
	}
}
