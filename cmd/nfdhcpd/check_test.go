package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const fixturesDir = "../../fixtures"

// copyFixture copies a fixture file into dir under its own name.
func copyFixture(t *testing.T, src, dir string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureReasons returns the bad fixtures of dir (files with a .reason
// companion) and the reason each must be refused with.
func fixtureReasons(t *testing.T, dir, ext string) map[string]string {
	t.Helper()
	reasons, err := filepath.Glob(filepath.Join(dir, "*.reason"))
	if err != nil || len(reasons) == 0 {
		t.Fatalf("no bad fixtures in %s: %v", dir, err)
	}
	m := map[string]string{}
	for _, r := range reasons {
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		m[strings.TrimSuffix(r, ".reason")+ext] = strings.TrimSpace(string(data))
	}
	return m
}

func TestCheckRefusesEachBadBinding(t *testing.T) {
	for path, reason := range fixtureReasons(t, filepath.Join(fixturesDir, "bindings", "bad"), "") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			conf, datapath := writeTestConfig(t)
			copyFixture(t, path, datapath)
			var stdout, stderr bytes.Buffer
			err := runCheck([]string{"-c", conf}, &stdout, &stderr)
			if err == nil {
				t.Fatalf("check accepted bad binding %s; output:\n%s", path, stdout.String())
			}
			if !strings.Contains(stdout.String(), reason) {
				t.Errorf("check output %q does not give the reason %q", stdout.String(), reason)
			}
			if !strings.Contains(stdout.String(), filepath.Join(datapath, filepath.Base(path))+": ") {
				t.Errorf("check output %q does not name the file", stdout.String())
			}
		})
	}
}

func TestCheckRefusesEachBadConfig(t *testing.T) {
	for path, reason := range fixtureReasons(t, filepath.Join(fixturesDir, "config", "bad"), ".conf") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runCheck([]string{"-c", path}, &stdout, &stderr)
			if err == nil {
				t.Fatalf("check accepted bad config %s; output:\n%s", path, stdout.String())
			}
			if !strings.Contains(stdout.String(), reason) {
				t.Errorf("check output %q does not give the reason %q", stdout.String(), reason)
			}
		})
	}
}

func TestCheckAcceptsGoodBindings(t *testing.T) {
	conf, datapath := writeTestConfig(t)
	good, err := filepath.Glob(filepath.Join(fixturesDir, "bindings", "good", "*"))
	if err != nil || len(good) == 0 {
		t.Fatalf("no good binding fixtures: %v", err)
	}
	for _, g := range good {
		copyFixture(t, g, datapath)
	}
	// What the daemon ignores, check ignores too.
	if err := os.WriteFile(filepath.Join(datapath, ".tap9.XXXX"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runCheck([]string{"-c", conf}, &stdout, &stderr); err != nil {
		t.Fatalf("check refused good bindings: %v; output:\n%s", err, stdout.String())
	}
	if want := "ok, " + strconv.Itoa(len(good)) + " binding files ok"; !strings.Contains(stdout.String(), want) {
		t.Errorf("check output %q, want it to contain %q", stdout.String(), want)
	}
}

func TestCheckAcceptsGoodConfigs(t *testing.T) {
	good, err := filepath.Glob(filepath.Join(fixturesDir, "config", "good", "*.conf"))
	if err != nil || len(good) == 0 {
		t.Fatalf("no good config fixtures: %v", err)
	}
	for _, g := range good {
		t.Run(filepath.Base(g), func(t *testing.T) {
			// The fixture's datapath may not exist here: check named files
			// instead of the directory.
			var stdout, stderr bytes.Buffer
			err := runCheck([]string{"-c", g, filepath.Join(fixturesDir, "bindings", "good", "routed")}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("check refused good config: %v; output:\n%s", err, stdout.String())
			}
		})
	}
}

func TestCheckNamedFilesAndWarnings(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte("[general]\ndatapath = /nonexistent\nfrobnicate = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(fixturesDir, "bindings", "bad", "badmac")
	good := filepath.Join(fixturesDir, "bindings", "good", "routed")
	var stdout, stderr bytes.Buffer
	err := runCheck([]string{"-c", conf, good, bad}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 binding files are invalid") {
		t.Fatalf("check = %v, want 1 of 2 invalid", err)
	}
	out := stdout.String()
	if !strings.Contains(out, "warning:") || !strings.Contains(out, "frobnicate") {
		t.Errorf("output %q does not warn about the unknown key", out)
	}
	if strings.Contains(out, good+":") {
		t.Errorf("output %q complains about the good file", out)
	}
}

// TestCheckWarnsAboutIPv6Mode checks that a binding asking for DHCPv6 on
// a host whose DHCPv6 queue is closed is accepted with a warning.
func TestCheckWarnsAboutIPv6Mode(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte("[general]\ndatapath = /nonexistent\n[ipv6]\ndhcpv6_queue =\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(fixturesDir, "bindings", "good", "profile")
	var stdout, stderr bytes.Buffer
	if err := runCheck([]string{"-c", conf, good}, &stdout, &stderr); err != nil {
		t.Fatalf("check: %v", err)
	}
	if want := good + ": warning: IPV6_MODE=dhcpv6"; !strings.Contains(stdout.String(), want) {
		t.Errorf("output %q lacks %q", stdout.String(), want)
	}
}

func TestCheckMissingDatapath(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nfdhcpd.conf")
	if err := os.WriteFile(conf, []byte("[general]\ndatapath = "+filepath.Join(dir, "none")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runCheck([]string{"-c", conf}, &stdout, &stderr); err == nil {
		t.Fatalf("check accepted a missing data directory; output:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "datapath") {
		t.Errorf("output %q does not name datapath", stdout.String())
	}
}
