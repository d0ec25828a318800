package service

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "nfdhcpd.pid")
	if err := WritePIDFile(path); err != nil {
		t.Fatalf("WritePIDFile: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("pidfile = %q, want %q", got, want)
	}
	// Rewriting our own file is fine (a restart reusing the pid).
	if err := WritePIDFile(path); err != nil {
		t.Errorf("rewriting own pidfile: %v", err)
	}

	// A live other process (our parent) refuses; a dead one is stale.
	other := filepath.Join(dir, "other.pid")
	os.WriteFile(other, []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644)
	if err := WritePIDFile(other); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("WritePIDFile over a live process's file: error = %v, want already running", err)
	}
	if err := RemovePIDFile(other); err != nil {
		t.Errorf("RemovePIDFile of another's file: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("RemovePIDFile removed another process's file: %v", err)
	}
	stale := filepath.Join(dir, "stale.pid")
	os.WriteFile(stale, []byte("2147483646\n"), 0o644)
	if err := WritePIDFile(stale); err != nil {
		t.Errorf("WritePIDFile over a stale file: %v", err)
	}

	if err := RemovePIDFile(path); err != nil {
		t.Fatalf("RemovePIDFile: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after RemovePIDFile: %v", err)
	}
	if err := RemovePIDFile(path); err != nil {
		t.Errorf("RemovePIDFile of a missing file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("left-over files: %v", entries)
	}
}
