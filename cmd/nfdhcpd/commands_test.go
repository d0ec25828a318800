package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
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
		{name: "-h", args: []string{"-h"}, wantErr: "-config file"},
		{name: "unknown command", args: []string{"frobnicate"}, wantStatus: 2, wantErr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"-x"}, wantStatus: 2, wantErr: "flag provided but not defined: -x"},
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

func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "nfdhcpd.pid")
	if err := writePIDFile(path); err != nil {
		t.Fatalf("writePIDFile: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("pidfile = %q, want %q", got, want)
	}
	// Rewriting our own file is fine (a restart reusing the pid).
	if err := writePIDFile(path); err != nil {
		t.Errorf("rewriting own pidfile: %v", err)
	}

	// A live other process (our parent) refuses; a dead one is stale.
	other := filepath.Join(dir, "other.pid")
	os.WriteFile(other, []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644)
	if err := writePIDFile(other); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("writePIDFile over a live process's file: error = %v, want already running", err)
	}
	if err := removePIDFile(other); err != nil {
		t.Errorf("removePIDFile of another's file: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("removePIDFile removed another process's file: %v", err)
	}
	stale := filepath.Join(dir, "stale.pid")
	os.WriteFile(stale, []byte("2147483646\n"), 0o644)
	if err := writePIDFile(stale); err != nil {
		t.Errorf("writePIDFile over a stale file: %v", err)
	}

	if err := removePIDFile(path); err != nil {
		t.Fatalf("removePIDFile: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after removePIDFile: %v", err)
	}
	if err := removePIDFile(path); err != nil {
		t.Errorf("removePIDFile of a missing file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("left-over files: %v", entries)
	}
}
