package main

import (
	"io"
	"log/slog"
)

// newLogger returns the daemon's logger: readable text on w, debug level
// when asked for.
func newLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
