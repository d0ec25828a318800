package service

import (
	"io"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
	slogjournal "github.com/systemd/slog-journal"
)

// NewLogger returns the daemon's logger: structured records straight
// to journald when stderr is connected to the journal (systemd sets
// JOURNAL_STREAM), so that TAP, MAC, IP, QUEUE... are fields one can filter
// on (journalctl -u nfdhcpd TAP=tap3); readable text on w otherwise.
func NewLogger(w io.Writer, debug bool) *slog.Logger {
	// Both checks: JOURNAL_STREAM may be inherited by a process whose
	// stderr was since redirected, and a journal socket that does not
	// answer would swallow every record.
	if onJournal, _ := journal.StderrIsJournalStream(); onJournal && journal.Enabled() {
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		h, err := slogjournal.NewHandler(&slogjournal.Options{
			Level:        level,
			ReplaceAttr:  func(_ []string, a slog.Attr) slog.Attr { a.Key = journalField(a.Key); return a },
			ReplaceGroup: journalField,
		})
		if err == nil {
			return slog.New(h)
		}
	}
	return NewTextLogger(w, debug)
}

// NewTextLogger returns a logger of readable text on w, at debug level
// when asked for.
func NewTextLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// journalField turns an slog key into a journal field name, which must
// match [A-Z0-9_]+, must not start with '_' (those are the journal's own
// trusted fields) or a digit, and is at most 64 bytes long.
func journalField(key string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(key) {
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	f := b.String()
	if f == "" || f[0] == '_' || f[0] >= '0' && f[0] <= '9' {
		f = "F" + f
	}
	if len(f) > 64 {
		f = f[:64]
	}
	return f
}
