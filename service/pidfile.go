package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// WritePIDFile writes the daemon's process ID to path, refusing when the
// file names another live process (a second daemon would fight the first
// for the queues). A stale file from a crash is replaced. The file is
// written under a temporary name and renamed, so a reader never sees it
// half-written.
func WritePIDFile(path string) error {
	if data, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(string(bytes.TrimSpace(data))); err == nil && pid != os.Getpid() && processAlive(pid) {
			return fmt.Errorf("pidfile %s: nfdhcpd already running as process %d", path, pid)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pidfile: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nfdhcpd.pid.*")
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintf(tmp, "%d\n", os.Getpid()); err != nil {
		tmp.Close()
		return fmt.Errorf("pidfile: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("pidfile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	return nil
}

// RemovePIDFile removes path if it still holds this process's ID, so that
// a daemon that lost a race never deletes the winner's file.
func RemovePIDFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("pidfile: %w", err)
	}
	if string(bytes.TrimSpace(data)) != strconv.Itoa(os.Getpid()) {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	return nil
}

// processAlive reports whether a process with the given ID exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
