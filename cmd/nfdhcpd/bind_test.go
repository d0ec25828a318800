package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTestConfig writes a configuration whose data directory is a fresh
// temporary directory and returns both paths.
func writeTestConfig(t *testing.T) (conf, datapath string) {
	t.Helper()
	dir := t.TempDir()
	datapath = filepath.Join(dir, "bindings")
	if err := os.Mkdir(datapath, 0o755); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[general]\ndatapath = %s\n", datapath)), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf, datapath
}

func TestBindWritesAndUnbindRemoves(t *testing.T) {
	conf, datapath := writeTestConfig(t)
	var stdout, stderr bytes.Buffer
	err := runBind([]string{"-c", conf, "tap7",
		"INDEV=br0", "MAC=52:54:00:12:34:56", "IP=192.0.2.10", "SUBNET=192.0.2.0/24",
		"GATEWAY=192.0.2.1", "SUBNET6=2001:db8:1::/64", "HOSTNAME=vm7.example.org",
		"TAGS=a b", "PRIVATE=", "X_HOOK=kept"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bind: %v (stderr %q)", err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(datapath, "tap7"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"INDEV=br0",
		"MAC=52:54:00:12:34:56",
		"IP=192.0.2.10",
		"HOSTNAME=vm7.example.org",
		"SUBNET=192.0.2.0/24",
		"GATEWAY=192.0.2.1",
		"SUBNET6=2001:db8:1::/64",
		"TAGS='a b'",
		"X_HOOK=kept",
	}
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binding file (-want +got):\n%s", diff)
	}
	if stdout.Len() != 0 {
		t.Errorf("bind printed %q, want nothing (hooks log stdout)", stdout.String())
	}

	for range 2 { // the second unbind finds nothing and still succeeds
		if err := runUnbind([]string{"-c", conf, "tap7"}, &stdout, &stderr); err != nil {
			t.Fatalf("unbind: %v", err)
		}
		if _, err := os.Stat(filepath.Join(datapath, "tap7")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after unbind, stat = %v, want not exist", err)
		}
	}
}

func TestBindRefusesBadInput(t *testing.T) {
	conf, datapath := writeTestConfig(t)
	good := []string{"MAC=52:54:00:12:34:56", "IP=192.0.2.10", "SUBNET=192.0.2.0/24"}
	tests := []struct {
		name      string
		args      []string
		wantErr   string
		wantUsage bool
	}{
		{"no TAP", []string{"-c", conf}, "missing TAP", true},
		{"not an assignment", append([]string{"-c", conf, "tap1", "IP"}, good...), `"IP" is not KEY=VALUE`, true},
		{"empty key", []string{"-c", conf, "tap1", "=x"}, `"=x" is not KEY=VALUE`, true},
		{"key twice", append([]string{"-c", conf, "tap1", "IP=192.0.2.11"}, good...), "IP given twice", false},
		{"bad MAC", []string{"-c", conf, "tap1", "MAC=zz"}, `MAC "zz"`, false},
		{"IP outside subnet", []string{"-c", conf, "tap1", "MAC=52:54:00:12:34:56", "IP=198.51.100.1", "SUBNET=192.0.2.0/24"}, "198.51.100.1", false},
		{"bad TAP name", append([]string{"-c", conf, "../etc"}, good...), `"../etc"`, false},
		{"ignored TAP name", append([]string{"-c", conf, "tap1.tmp"}, good...), "ignored", false},
		{"missing config", append([]string{"-c", conf + ".missing", "tap1"}, good...), "no such file", false},
		{"unknown flag", []string{"-x", "tap1"}, "-x", true},
		{"bad ROUTES", append([]string{"-c", conf, "tap1", "ROUTES=10.0.0.0/33 via x"}, good...), `ROUTES "10.0.0.0/33 via x": invalid`, false},
		{"owned DHCP option", append([]string{"-c", conf, "tap1", "DHCP_OPTIONS=53:u8:1"}, good...), "option 53 is the daemon's own", false},
		{"text option of 300 bytes", append([]string{"-c", conf, "tap1", "DHCP_OPTIONS=252:text:" + strings.Repeat("x", 300)}, good...), "text of 300 bytes", false},
		{"search name over 255 bytes", append([]string{"-c", conf, "tap1", "SEARCH=" + strings.Repeat("a.", 128) + "org"}, good...), "SEARCH", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runBind(tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("runBind(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if got := errors.Is(err, errUsage); got != tt.wantUsage {
				t.Errorf("errors.Is(err, errUsage) = %v, want %v", got, tt.wantUsage)
			}
			entries, _ := os.ReadDir(datapath)
			if len(entries) != 0 {
				t.Errorf("a refused bind left %d files in the data directory", len(entries))
			}
		})
	}
}

// TestBindProfile writes every profile key; an empty one is kept, since it
// unsets the configuration's default.
func TestBindProfile(t *testing.T) {
	conf, datapath := writeTestConfig(t)
	var stdout, stderr bytes.Buffer
	err := runBind([]string{"-c", conf, "tap8", "MAC=52:54:00:12:34:58", "IP=192.0.2.11",
		"NAMESERVERS=192.0.2.53, 198.51.100.53", "NAMESERVERS6=2001:db8::53", "DOMAIN=", "SEARCH=a.example b.example",
		"NTP=192.0.2.123", "NTP6=2001:db8::123", "ROUTES=10.0.0.0/8 via 192.0.2.254", "LEASE_TIME=3600", "RENEWAL_TIME=600",
		"IPV6_MODE=slaac+dhcpv6", "NEXT_SERVER=192.0.2.5", "TFTP_SERVER=tftp.example", "BOOTFILE=pxelinux.0",
		"BOOTFILE_EFI=grubx64.efi", "BOOTFILE_IPXE=http://192.0.2.5/boot.ipxe", "BOOTFILE_URL6=tftp://[2001:db8::5]/x.efi quiet",
		"IPV6_ONLY=1800", "DHCP_OPTIONS=252:text:http://192.0.2.1/wpad.dat"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bind: %v (stderr %q)", err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(datapath, "tap8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"DOMAIN=\n", "ROUTES='10.0.0.0/8 via 192.0.2.254'\n", "IPV6_MODE=slaac+dhcpv6\n",
		"BOOTFILE_URL6='tftp://[2001:db8::5]/x.efi quiet'\n", "DHCP_OPTIONS=252:text:http://192.0.2.1/wpad.dat\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("binding file lacks %q:\n%s", line, data)
		}
	}
}

// TestBindReplacesAtomically checks that a second bind replaces the first
// and leaves no temporary file behind.
func TestBindReplacesAtomically(t *testing.T) {
	conf, datapath := writeTestConfig(t)
	var out bytes.Buffer
	for _, ip := range []string{"192.0.2.10", "192.0.2.11"} {
		if err := runBind([]string{"-c", conf, "tap3", "MAC=52:54:00:12:34:56", "IP=" + ip}, &out, &out); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(datapath)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"tap3"}, names); diff != "" {
		t.Errorf("data directory (-want +got):\n%s", diff)
	}
	data, _ := os.ReadFile(filepath.Join(datapath, "tap3"))
	if !strings.Contains(string(data), "IP=192.0.2.11\n") {
		t.Errorf("binding file = %q, want the second IP", data)
	}
}
