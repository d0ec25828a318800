package netnstest

import (
	"fmt"
	"os"
	"testing"
)

// MissingPrerequisite skips t with the reason given by format and args, or
// fails it when the environment variable CI is "true": a CI run must never
// pass by skipping what it was meant to test.
func MissingPrerequisite(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, not skipping: %s", reason)
	}
	t.Skipf("skipping: %s", reason)
}

// RequireRoot returns when the test runs as root, and otherwise reports
// the missing prerequisite through MissingPrerequisite.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	MissingPrerequisite(t, "need root to create network namespaces (euid %d)", os.Geteuid())
}
