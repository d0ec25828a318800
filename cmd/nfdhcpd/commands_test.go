package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/config"
)

func TestDispatch(t *testing.T) {
	badConf := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(badConf, []byte("[dhcp]\nlease_lifetime = abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
	}{
		{name: "eui64", args: []string{"eui64", "aa:00:00:12:34:56", "2001:db8::/64"}, wantOut: "2001:db8::a800:ff:fe12:3456\n"},
		{name: "eui64 dashes", args: []string{"eui64", "52-54-00-AB-CD-EF", "2001:db8:1:2::/64"}, wantOut: "2001:db8:1:2:5054:ff:feab:cdef\n"},
		{name: "eui64 missing prefix", args: []string{"eui64", "aa:00:00:12:34:56"}, wantStatus: 2, wantErr: "eui64 needs MAC and PREFIX"},
		{name: "eui64 bad mac", args: []string{"eui64", "zz", "2001:db8::/64"}, wantStatus: 2, wantErr: `"zz" is not a MAC address`},
		{name: "eui64 prefix too long", args: []string{"eui64", "aa:00:00:12:34:56", "2001:db8::/96"}, wantStatus: 1, wantErr: "/64 or shorter"},
		{name: "version", args: []string{"version"}, wantOut: "nfdhcpd "},
		{name: "--version", args: []string{"--version"}, wantOut: "nfdhcpd "},
		{name: "help", args: []string{"help"}, wantOut: "nfdhcpd eui64 MAC PREFIX"},
		{name: "unknown command", args: []string{"frobnicate"}, wantStatus: 2, wantErr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"-x"}, wantStatus: 2, wantErr: "flag provided but not defined: -x\nUsage:\n  nfdhcpd [-c FILE]"},
		{name: "stray argument", args: []string{"-d", "extra"}, wantStatus: 2, wantErr: `unexpected argument "extra"`},
		{name: "missing config", args: []string{"-c", "/nonexistent/nfdhcpd.conf", "-f"}, wantStatus: 1, wantErr: "config: open /nonexistent/nfdhcpd.conf"},
		{name: "bad config long flags", args: []string{"--config", badConf, "--debug", "--foreground"}, wantStatus: 1, wantErr: `config: [dhcp] lease_lifetime: "abc" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := dispatch(tt.args, &stdout, &stderr)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (stderr %q)", status, tt.wantStatus, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

// TestHelp checks that -h, -help and --help print what `nfdhcpd help`
// prints (the commands, then the daemon's flags), and that every command
// asked for its help prints it and exits 0.
func TestHelp(t *testing.T) {
	var want bytes.Buffer
	if status := dispatch([]string{"help"}, &want, &bytes.Buffer{}); status != 0 {
		t.Fatalf("nfdhcpd help: status %d", status)
	}
	for _, c := range commands() {
		if !strings.Contains(want.String(), "nfdhcpd "+c.name) {
			t.Errorf("nfdhcpd help does not list %s:\n%s", c.name, want.String())
		}
	}
	for _, flag := range []string{"-h", "-help", "--help"} {
		var stdout, stderr bytes.Buffer
		if status := dispatch([]string{flag}, &stdout, &stderr); status != 0 {
			t.Errorf("nfdhcpd %s: status %d, want 0 (stderr %q)", flag, status, stderr.String())
		}
		if diff := cmp.Diff(want.String(), stdout.String()); diff != "" {
			t.Errorf("nfdhcpd %s differs from nfdhcpd help (-want +got):\n%s", flag, diff)
		}
	}
	for _, c := range commands() {
		for _, flag := range []string{"-h", "--help"} {
			var stdout, stderr bytes.Buffer
			status := dispatch([]string{c.name, flag}, &stdout, &stderr)
			if status != 0 {
				t.Errorf("nfdhcpd %s %s: status %d, want 0 (stderr %q)", c.name, flag, status, stderr.String())
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, "nfdhcpd") {
				t.Errorf("nfdhcpd %s %s printed no help: %q", c.name, flag, out)
			}
		}
	}
}

func TestParseDaemonFlags(t *testing.T) {
	tests := []struct {
		args []string
		want daemonFlags
	}{
		{nil, daemonFlags{config: config.DefaultPath}},
		{[]string{"-c", "/etc/x.conf", "-d", "-f"}, daemonFlags{config: "/etc/x.conf", debug: true, foreground: true}},
		{[]string{"--config=/y.conf", "--debug", "--foreground"}, daemonFlags{config: "/y.conf", debug: true, foreground: true}},
		{[]string{"--version"}, daemonFlags{config: config.DefaultPath, version: true}},
		{[]string{"-df"}, daemonFlags{config: config.DefaultPath, debug: true, foreground: true}},
		{[]string{"-fdc", "/a.conf"}, daemonFlags{config: "/a.conf", debug: true, foreground: true}},
		{[]string{"-c/b.conf", "-f"}, daemonFlags{config: "/b.conf", foreground: true}},
		{[]string{"-dc=/c.conf"}, daemonFlags{config: "/c.conf", debug: true}},
		{[]string{"-config", "/d.conf", "-debug"}, daemonFlags{config: "/d.conf", debug: true}},
		{[]string{"-c", "-df.conf"}, daemonFlags{config: "-df.conf"}},
		{[]string{"-c", "-df"}, daemonFlags{config: "-df"}},
		{[]string{"-dc", "-fd", "-f"}, daemonFlags{config: "-fd", debug: true, foreground: true}},
	}
	for _, tt := range tests {
		got, err := parseDaemonFlags(tt.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(daemonFlags{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.args, diff)
		}
	}
}
