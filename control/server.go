package control

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

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// Listen creates the control socket at path, readable and writable
// by its owner only. A socket left behind by a daemon that died is
// replaced; one that still answers belongs to a running daemon and is an
// error.
func Listen(path string) (net.Listener, error) {
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

// Serve serves h on ln until ctx is done, then shuts the server down
// and, for a unix socket, removes its file when it can (after a privilege
// drop the directory may no longer be writable; the next start replaces
// the stale socket).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
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

// Handler serves /status (JSON, from the report function, which is
// called once per request) when withStatus is set, and /metrics.
func Handler(report func() Report, metrics http.Handler, withStatus bool) http.Handler {
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

// A Server is the daemon's operator endpoints: the control socket, which
// answers /status and /metrics, and the optional TCP endpoint, which
// answers /metrics only (the binding list names VMs' addresses).
type Server struct {
	control, metrics net.Listener // nil when not configured
	log              *slog.Logger
}

// NewServer takes the control socket at socketPath and the TCP address
// metricsAddr, either of which may be empty (not served). The daemon takes
// them before it touches kernel state: a second daemon refused here
// leaves nothing behind.
func NewServer(socketPath, metricsAddr string, log *slog.Logger) (*Server, error) {
	s := &Server{log: log}
	if socketPath != "" {
		ln, err := Listen(socketPath)
		if err != nil {
			return nil, err
		}
		s.control = ln
		log.Info("control socket listening", "path", socketPath)
	}
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		s.metrics = ln
		log.Info("metrics endpoint listening", "address", ln.Addr().String())
	}
	return s, nil
}

// Serve answers on the endpoints from src until ctx is done.
func (s *Server) Serve(ctx context.Context, src Sources) error {
	metrics := NewMetricsHandler(src, s.log)
	g, gctx := errgroup.WithContext(ctx)
	if s.control != nil {
		g.Go(func() error { return Serve(gctx, s.control, Handler(src.Report, metrics, true), s.log) })
	}
	if s.metrics != nil {
		g.Go(func() error { return Serve(gctx, s.metrics, Handler(src.Report, metrics, false), s.log) })
	}
	return g.Wait()
}

// Close releases the endpoints of a server that will not Serve.
func (s *Server) Close() {
	for _, ln := range []net.Listener{s.control, s.metrics} {
		if ln != nil {
			ln.Close()
		}
	}
}
