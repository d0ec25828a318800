package control

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// TestListenIsExclusive checks that a socket a live daemon serves is
// refused, that one left behind by a dead daemon is replaced, and that
// only the owner may use it.
func TestListenIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "control")
	first, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another nfdhcpd is serving it") {
		t.Errorf("second Listen on a served socket = %v, want a refusal", err)
	}
	// A closed listener leaves its file behind on purpose (as a crash
	// would): the next Listen replaces it.
	first.(*peerCheckListener).SetUnlinkOnClose(false)
	first.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket missing: %v", err)
	}
	again, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	again.Close()
}

// TestServerEndpoints checks that the control socket answers /status and
// /metrics, that the TCP endpoint answers /metrics but never /status (the
// binding list names VMs' addresses), and that both stop with ctx.
func TestServerEndpoints(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "control")
	srv, err := NewServer(socket, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	var stats responder.Stats
	src := Sources{
		Report: func() Report {
			r := NewReport(nil, &stats)
			r.Version, r.Config = "test", "/etc/nfdhcpd/nfdhcpd.conf"
			return r
		},
		Stats:        &stats,
		Queues:       func() map[uint16]uint64 { return nil },
		KernelQueues: filepath.Join(t.TempDir(), "missing"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, src) }()

	body, err := Fetch(socket)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var r Report
	if err := json.Unmarshal(body, &r); err != nil || r.Version != "test" || r.BindingsN["active"] != 0 {
		t.Errorf("status = %+v, %v", r, err)
	}

	addr := "http://" + srv.metrics.Addr().String()
	for path, want := range map[string]int{"/metrics": http.StatusOK, "/status": http.StatusNotFound} {
		resp, err := http.Get(addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("TCP endpoint GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v", err)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("socket left after Serve returned: %v", err)
	}
	if _, err := net.Dial("tcp", srv.metrics.Addr().String()); err == nil {
		t.Error("TCP endpoint still accepts after Serve returned")
	}
}
