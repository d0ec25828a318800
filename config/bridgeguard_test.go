package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigBridgeGuard covers [routing] bridge_guard: on with role none
// (a host that only bridges), refused without the routing module, and a
// bad value named with its key.
func TestConfigBridgeGuard(t *testing.T) {
	for _, tc := range []struct {
		name, routing string
		want          bool
		err           string
	}{
		{"on with role none", "enable_routing = yes\nrole = none\nbridge_guard = yes\n", true, ""},
		{"off by default", "enable_routing = yes\nrole = none\n", false, ""},
		{"without the module", "bridge_guard = yes\n", false, "[routing] bridge_guard: needs enable_routing = yes"},
		{"not a boolean", "enable_routing = yes\nrole = none\nbridge_guard = sometimes\n", false, "bridge_guard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nfdhcpd.conf")
			if err := os.WriteFile(path, []byte("[routing]\n"+tc.routing), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadConfig: %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if cfg.Routing.BridgeGuard != tc.want {
				t.Errorf("BridgeGuard = %v, want %v", cfg.Routing.BridgeGuard, tc.want)
			}
			mc, err := cfg.Routing.ModuleConfig(t.TempDir())
			if err != nil {
				t.Fatalf("moduleConfig: %v", err)
			}
			if mc.BridgeGuard != tc.want {
				t.Errorf("module BridgeGuard = %v, want %v", mc.BridgeGuard, tc.want)
			}
		})
	}
}
