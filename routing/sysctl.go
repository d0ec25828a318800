package routing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// inNetns runs f on a thread switched into ns (when it is open): the
// network sysctls under /proc/sys/net belong to the namespace of the
// thread that opens them.
func inNetns(ns netns.NsHandle, f func() error) error {
	if !ns.IsOpen() {
		return f()
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("routing: current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("routing: enter network namespace: %w", err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked, so the runtime retires it with the
		// goroutine instead of reusing it in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("routing: leave network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

func sysctlPath(name string) (string, error) {
	p := filepath.Join("/proc/sys", name)
	if !strings.HasPrefix(p, "/proc/sys/net/") {
		return "", fmt.Errorf("routing: sysctl %q is outside net/: %w", name, errConfig)
	}
	return p, nil
}

// readSysctls returns the values of the named sysctls that exist, read
// in one visit to ns.
func readSysctls(ns netns.NsHandle, names []string) ([]Sysctl, error) {
	var out []Sysctl
	err := inNetns(ns, func() error {
		for _, name := range names {
			p, err := sysctlPath(name)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("routing: sysctl %s: %w", name, err)
			}
			out = append(out, Sysctl{Name: name, Value: strings.TrimSpace(string(b))})
		}
		return nil
	})
	return out, err
}

func writeSysctl(ns netns.NsHandle, name, value string) error {
	p, err := sysctlPath(name)
	if err != nil {
		return err
	}
	err = inNetns(ns, func() error { return os.WriteFile(p, []byte(value+"\n"), 0o644) })
	if err != nil {
		return fmt.Errorf("routing: sysctl %s=%s: %w", name, value, err)
	}
	return nil
}

// writeSysctls writes the sysctls of ops in one visit to ns: entering a
// namespace costs two system calls, a thousand TAPs some 4,000 writes.
func writeSysctls(ns netns.NsHandle, ops []Op) []error {
	errs := make([]error, len(ops))
	err := inNetns(ns, func() error {
		for i, op := range ops {
			s := op.Entry.(Sysctl)
			errs[i] = writeSysctl(netns.None(), s.Name, s.Value)
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = errors.Join(errs[i], err)
		}
	}
	return errs
}
