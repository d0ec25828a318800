package service

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestNotifier checks the messages systemd receives on NOTIFY_SOCKET and
// the watchdog's pace.
func TestNotifier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", "")

	n := Notifier{Log: slog.New(slog.DiscardHandler)}
	tick, stop := n.Watchdog()
	if tick == nil {
		t.Fatal("Watchdog() = nil with WATCHDOG_USEC set")
	}
	start := time.Now()
	<-tick
	if d := time.Since(start); d < 15*time.Millisecond || d > 2*time.Second {
		t.Errorf("first watchdog tick after %v, want about 20ms (half of 40ms)", d)
	}
	stop()
	n.Ready()
	n.Reloading()
	n.Ping()
	n.Stopping()

	var got []string
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(got) < 4 {
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		msg := string(buf[:k])
		// MONOTONIC_USEC changes every time: keep only its name.
		if i := strings.Index(msg, "MONOTONIC_USEC="); i >= 0 {
			msg = msg[:i+len("MONOTONIC_USEC=")]
		}
		got = append(got, msg)
	}
	want := []string{"READY=1\nSTATUS=serving", "RELOADING=1\nMONOTONIC_USEC=", "WATCHDOG=1", "STOPPING=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}

	t.Setenv("WATCHDOG_USEC", "")
	if tick, _ := n.Watchdog(); tick != nil {
		t.Errorf("Watchdog() ticks without WATCHDOG_USEC")
	}
}
