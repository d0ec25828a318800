package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
