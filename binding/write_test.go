package binding_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

func TestWriteFileRoundTrip(t *testing.T) {
	values := map[string]string{
		"MAC":      "52:54:00:12:34:56",
		"IP":       "192.0.2.10",
		"SUBNET":   "192.0.2.0/24",
		"GATEWAY":  "192.0.2.1",
		"SUBNET6":  "2001:db8:1::/64",
		"HOSTNAME": "vm1.example.org",
		"TAGS":     `it's a "tag" with $dollar and \backslash` + "\tand a tab",
		"INDEV":    "br0",
		"PRIVATE":  "1",
		"MTU":      "1500",
		"TABLE":    "rt_vms",
		"NETWORK":  "kept for the hook",
		"EMPTY":    "",
	}
	dir := t.TempDir()
	if err := binding.WriteFile(dir, "tap7", values); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "tap7" {
		t.Fatalf("directory holds %v, want only tap7 (no temporary file left behind)", entries)
	}
	if fi, _ := entries[0].Info(); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	got, err := binding.ParseFile(filepath.Join(dir, "tap7"))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	data, _ := binding.Format(values)
	want, err := binding.Parse("tap7", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(want, got, equateNetip); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if got.Tags != values["TAGS"] || got.Indev != "br0" || !got.Private || got.MTU != 1500 {
		t.Errorf("values lost: %+v", got)
	}
}

func TestFormat(t *testing.T) {
	got, err := binding.Format(map[string]string{
		"ZZZ":   "last",
		"AAA":   "after the known keys",
		"TAGS":  "it's",
		"IP":    "192.0.2.1",
		"MAC":   "52:54:00:12:34:56",
		"INDEV": "br0",
		"EMPTY": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "INDEV=br0\nMAC=52:54:00:12:34:56\nIP=192.0.2.1\nTAGS='it'\\''s'\nAAA='after the known keys'\nZZZ=last\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Format mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteFileRefuses(t *testing.T) {
	good := func(extra map[string]string) map[string]string {
		v := map[string]string{"MAC": "52:54:00:12:34:56"}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	tests := []struct {
		name   string
		file   string
		values map[string]string
	}{
		{"invalid value", "tap0", good(map[string]string{"IP": "300.1.1.1"})},
		{"no MAC", "tap0", map[string]string{"IP": "192.0.2.1"}},
		{"newline in a value", "tap0", good(map[string]string{"TAGS": "a\nMAC=02:00:00:00:00:01"})},
		{"bad key", "tap0", good(map[string]string{"A-B": "x"})},
		{"path in the name", "../etc", good(nil)},
		{"ignored name", ".tap0", good(nil)},
		{"temporary name", "tap0.tmp", good(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := binding.WriteFile(dir, tt.file, tt.values)
			if !errors.Is(err, binding.ErrInvalid) {
				t.Errorf("WriteFile = %v, want an ErrInvalid error", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("WriteFile left %v behind", entries)
			}
		})
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		if err := binding.WriteFile(dir, "tap0", map[string]string{"MAC": "52:54:00:12:34:56", "IP": ip}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := binding.ParseFile(filepath.Join(dir, "tap0"))
	if err != nil {
		t.Fatal(err)
	}
	if b.IP.String() != "192.0.2.2" {
		t.Errorf("IP = %v, want the second write's 192.0.2.2", b.IP)
	}
}

func TestRemoveFile(t *testing.T) {
	dir := t.TempDir()
	if err := binding.WriteFile(dir, "tap0", map[string]string{"MAC": "52:54:00:12:34:56"}); err != nil {
		t.Fatal(err)
	}
	if err := binding.RemoveFile(dir, "tap0"); err != nil {
		t.Fatalf("RemoveFile: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tap0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if err := binding.RemoveFile(dir, "tap0"); err != nil {
		t.Errorf("RemoveFile of a missing file = %v, want nil", err)
	}
	if err := binding.RemoveFile(dir, "../x"); !errors.Is(err, binding.ErrInvalid) {
		t.Errorf("RemoveFile(../x) = %v, want ErrInvalid", err)
	}
}
