package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// listenControl creates the control socket at path, readable and writable
// by its owner only. A socket left behind by a daemon that died is
// replaced; one that still answers belongs to a running daemon and is an
// error.
func listenControl(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket: %s: another nfdhcpd is serving it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &peerCheckListener{UnixListener: ln, uid: os.Getuid()}, nil
}

// A peerCheckListener accepts only connections from root or from the
// daemon's own user: the file mode already says so, this holds even when
// an operator loosens it.
type peerCheckListener struct {
	*net.UnixListener
	uid int
}

func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerUID(c); ok && (uid == 0 || uid == l.uid) {
			return c, nil
		}
		c.Close()
	}
}

// peerUID returns the user of the process at the other end of c.
func peerUID(c *net.UnixConn) (int, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}

// serveHTTP serves h on ln until ctx is done, then shuts the server down
// and, for a unix socket, removes its file when it can (after a privilege
// drop the directory may no longer be writable; the next start replaces
// the stale socket).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("stopping the HTTP server failed", "address", ln.Addr().String(), "error", err)
	}
	if a, ok := ln.Addr().(*net.UnixAddr); ok {
		if err := os.Remove(a.Name); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.EACCES) {
			log.Warn("removing the control socket failed", "path", a.Name, "error", err)
		}
	}
	return nil
}

// opsHandler serves /status (JSON, from the report function, which is
// called once per request) when withStatus is set, and /metrics.
func opsHandler(report func() statusReport, metrics http.Handler, withStatus bool) http.Handler {
	mux := http.NewServeMux()
	if withStatus {
		mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(report())
		})
	}
	mux.Handle("GET /metrics", metrics)
	return mux
}
