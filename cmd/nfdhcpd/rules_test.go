package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

func TestRulesCommandErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte("[dhcp]\nenable_dhcp = no\n[ipv6]\nenable_ipv6 = no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no queue", []string{"-c", conf}, "opens no queue"},
		{"bad format", []string{"-c", conf, "-format", "pf"}, `-format "pf"`},
		{"bad pattern", []string{"-c", conf, "-taps", "tap+,a/b"}, `"a/b" is not an interface name pattern`},
		{"missing config", []string{"-c", filepath.Join(dir, "none.conf")}, "no such file"},
		{"extra argument", []string{"-c", conf, "x"}, `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runRules(tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runRules(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestRulesNftBridgeMatchesContrib checks that `nfdhcpd rules -format
// nft-bridge` prints the bridge guard the daemon installs, without needing
// a configuration, and that the shipped copy is the same.
func TestRulesNftBridgeMatchesContrib(t *testing.T) {
	var got, stderr bytes.Buffer
	if err := runRules([]string{"-c", filepath.Join(t.TempDir(), "absent.conf"), "-format", "nft-bridge"}, &got, &stderr); err != nil {
		t.Fatalf("rules -format nft-bridge: %v", err)
	}
	if !strings.Contains(got.String(), routing.GuardScript()) {
		t.Errorf("rules -format nft-bridge lacks the guard table:\n%s", got.String())
	}
	shipped, err := os.ReadFile(filepath.Join("..", "..", "contrib", "nftables", "nfdhcpd-bridge-guard.nft"))
	if err != nil {
		t.Fatal(err)
	}
	if string(shipped) != got.String() {
		t.Errorf("contrib/nftables/nfdhcpd-bridge-guard.nft differs from `nfdhcpd rules -format nft-bridge`; regenerate it:\n%s", got.String())
	}
}
