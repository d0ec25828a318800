package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/profile"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// What `nfdhcpd check` needs beyond Load: the warnings Load logs as text,
// the binding files of the data directory, and the warnings about a
// configuration or binding that is valid but cannot work as meant.

// LoadWarnings is Load that returns the warnings it would log (unknown
// keys, each with its attributes) as text lines instead: the daemon starts
// with them, so a linter shows them without failing.
func LoadWarnings(path string) (*Config, []string, error) {
	w := &warningCollector{}
	cfg, err := Load(path, slog.New(w))
	return cfg, w.lines, err
}

// A warningCollector is a slog.Handler that keeps the messages of warnings
// and above, with their attributes, as text lines.
type warningCollector struct {
	lines []string
}

func (w *warningCollector) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

func (w *warningCollector) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	w.lines = append(w.lines, b.String())
	return nil
}

func (w *warningCollector) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warningCollector) WithGroup(string) slog.Handler      { return w }

// BindingFiles returns the paths of the binding files in dir ([general]
// datapath), sorted, leaving out what the daemon ignores too (temporary and
// hidden files) and subdirectories.
func BindingFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config: [general] datapath: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() || binding.Ignored(e.Name()) {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	slices.Sort(paths)
	return paths, nil
}

// BIRDWarning says why VMs will not be announced when the routing module
// leaves them to BIRD and no BIRD answers on its control socket
// ([routing] bird_socket, else BIRD's usual paths); "" when all is well.
func BIRDWarning(rc Routing) string {
	if !rc.Enable || rc.Announce != "bgp" {
		return ""
	}
	paths := routing.DefaultBIRDSockets
	if rc.BIRDSocket != "" {
		paths = []string{rc.BIRDSocket}
	}
	if _, err := routing.ProbeBIRD(paths, time.Second); err != nil {
		return fmt.Sprintf("[routing] announce = bgp but BIRD is not running here, so no VM route is announced: %v", err)
	}
	return ""
}

// ProfileWarning says why a valid binding's profile cannot work with the
// configuration, or "": an IPV6_MODE that needs DHCPv6 on a host whose
// DHCPv6 queue is closed.
func ProfileWarning(b *binding.Binding, cfg *Config) string {
	if !b.Profile.Has(profile.KeyIPv6Mode) || !b.HasIPv6() {
		return ""
	}
	switch m := b.Profile.IPv6Mode; {
	case m != profile.ModeDHCPv6 && m != profile.ModeSLAACDHCPv6:
	case !cfg.IPv6.Enable || cfg.IPv6.DHCPv6Queue == NoQueue:
		return fmt.Sprintf("IPV6_MODE=%s, but IPv6 is off or [ipv6] dhcpv6_queue is empty: the VM gets no DHCPv6 answer", m)
	}
	return ""
}
