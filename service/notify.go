package service

import (
	"log/slog"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// A Notifier tells systemd (Type=notify) what the daemon is doing. Outside
// systemd, with no NOTIFY_SOCKET, every call does nothing.
type Notifier struct {
	Log *slog.Logger // where a failed notification is reported
}

func (n Notifier) send(state string) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		n.Log.Warn("systemd notification failed", "state", state, "error", err)
	}
}

// Ready says the queues are open and the bindings loaded.
func (n Notifier) Ready() { n.send(sddaemon.SdNotifyReady + "\nSTATUS=serving") }

// Reloading says a SIGHUP reload started; Ready ends it.
func (n Notifier) Reloading() {
	n.send(sddaemon.SdNotifyReloading + "\n" + sddaemon.SdNotifyMonotonicUsec())
}

// Stopping says the daemon is shutting down.
func (n Notifier) Stopping() { n.send(sddaemon.SdNotifyStopping) }

// Watchdog returns a channel that ticks at half the unit's WatchdogSec, for
// the main loop to answer with Ping, so that a stuck loop gets the daemon
// restarted, and a function that stops the ticks. The channel is nil (never
// ticks) when there is no watchdog.
func (n Notifier) Watchdog() (<-chan time.Time, func()) {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		n.Log.Warn("systemd watchdog settings ignored", "error", err)
		return nil, func() {}
	}
	if interval <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(interval / 2)
	return t.C, t.Stop
}

// Ping tells the watchdog the main loop is alive.
func (n Notifier) Ping() { n.send(sddaemon.SdNotifyWatchdog) }
