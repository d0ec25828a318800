package hook_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/activity"
	"github.com/nfdhcpd/nfdhcpd/activity/hook"
	"github.com/nfdhcpd/nfdhcpd/binding"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunnerOrderTimeoutAndDrops checks that one TAP's events run in
// order with their variables, that a hanging run is killed at the timeout
// and the next event still runs, and that a full queue drops and counts.
func TestRunnerOrderTimeoutAndDrops(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	cmd := script(t, `if [ "$NFDHCPD_EVENT" = decline ]; then sleep 30; fi
echo "$NFDHCPD_EVENT $TAP $MAC $IP $HOSTNAME $CLIENT_HOSTNAME $LEASE_IP" >> `+out+"\n")
	r := hook.New(hook.Config{Command: cmd, Timeout: 300 * time.Millisecond, Queue: 8, Workers: 2}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &binding.Binding{Name: "tap1", IP: netip.MustParseAddr("192.0.2.10"), Hostname: "vm1"}
	kinds := []activity.Kind{activity.KindBind, activity.KindActive, activity.KindLease, activity.KindDecline, activity.KindRelease, activity.KindUnbind}
	for _, k := range kinds {
		r.Emit(activity.Event{Kind: k, TAP: "tap1", Binding: b, ClientHostname: "guest", IP: b.IP})
	}
	// The queue holds 8: 6 are in, 2 more fit, the rest drop.
	for range 5 {
		r.Emit(activity.Event{Kind: activity.KindAddress6, TAP: "tap2"})
	}
	if got := r.Stats.Dropped.Load(); got != 3 {
		t.Errorf("dropped = %d, want 3", got)
	}
	go r.Run(ctx)
	waitFor(t, "all runs", func() bool { return r.Stats.Run.Load() == 8 })
	data, _ := os.ReadFile(out)
	var tap1 []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.Contains(l, " tap1 ") {
			tap1 = append(tap1, l)
		}
	}
	want := []string{
		"bind tap1  192.0.2.10 vm1 guest 192.0.2.10",
		"active tap1  192.0.2.10 vm1 guest 192.0.2.10",
		"lease tap1  192.0.2.10 vm1 guest 192.0.2.10",
		"release tap1  192.0.2.10 vm1 guest 192.0.2.10",
		"unbind tap1  192.0.2.10 vm1 guest 192.0.2.10",
	}
	if strings.Join(tap1, "\n") != strings.Join(want, "\n") {
		t.Errorf("tap1 runs:\n%s\nwant:\n%s", strings.Join(tap1, "\n"), strings.Join(want, "\n"))
	}
	if got := r.Stats.TimedOut.Load(); got != 1 {
		t.Errorf("timed out = %d, want 1", got)
	}
	if r.Queued() != 0 {
		t.Errorf("queued = %d after all ran", r.Queued())
	}
}

// TestEnv checks the variables of a lease event.
func TestEnv(t *testing.T) {
	b := &binding.Binding{Name: "tap1", IP: netip.MustParseAddr("192.0.2.10"), Hostname: "vm1.example.org",
		EUI64: netip.MustParseAddr("2001:db8::5054:ff:fe00:1")}
	env := strings.Join(hook.Env(activity.Event{Kind: activity.KindLease, TAP: "tap1", Binding: b, VendorClass: "udhcp 1.36.1",
		ClientID: []byte{1, 2}, Time: time.Unix(100, 0)}), "\n")
	for _, want := range []string{"NFDHCPD_EVENT=lease", "TAP=tap1", "IP=192.0.2.10", "IP6=2001:db8::5054:ff:fe00:1",
		"HOSTNAME=vm1.example.org", "VENDOR_CLASS=udhcp 1.36.1", "CLIENT_ID=0102", "NFDHCPD_TIME=100"} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("no %s in\n%s", want, env)
		}
	}
}

// TestEnvPrefix6 checks the variable of the prefix delegated.
func TestEnvPrefix6(t *testing.T) {
	env := hook.Env(activity.Event{Kind: activity.KindPrefix6, TAP: "tap1", Prefix6: netip.MustParsePrefix("2001:db8:100::/56")})
	for _, want := range []string{"NFDHCPD_EVENT=prefix6", "DELEGATED6=2001:db8:100::/56"} {
		if !slices.Contains(env, want) {
			t.Errorf("no %s in %q", want, env)
		}
	}
}
