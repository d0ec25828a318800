package binding

import (
	"fmt"
	"strings"
)

// maxNameLength is IFNAMSIZ minus the terminating NUL.
const maxNameLength = 15

// ValidName checks that name can be a Linux network interface name, by the
// kernel's own rule (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/',
// ':' or whitespace. It also refuses control characters. Binding file names,
// INDEV, UPLINK and UPLINK6 must pass it, so that no name taken from a file
// can reach outside /sys/class/net or the data directory.
func ValidName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return fmt.Errorf("binding: interface name %q: %w (%s)", truncate(name), ErrInvalid, problem)
	}
	return nil
}

// nameProblem returns why name is not a valid interface name, or "".
func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > maxNameLength:
		return fmt.Sprintf("longer than %d bytes", maxNameLength)
	case name == "." || name == "..":
		return "not a name"
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '/' || c == ':':
			return fmt.Sprintf("contains %q", c)
		case c <= ' ' || c == 0x7f:
			return "contains whitespace or a control character"
		}
	}
	return ""
}

// Ignored reports whether a directory entry called name is not a binding
// file and is skipped by the Table without a word: hidden files (a leading
// '.'), editor backups (a trailing '~'), and names ending in ".tmp", ".swp",
// ".new" or containing ".dpkg-" (package manager leftovers such as
// "tap0.dpkg-old").
//
// Hooks that write atomically create a hidden temporary file such as
// ".tap0.XXXXXX" and rename it to "tap0"; the temporary file is ignored and
// the rename brings the binding in whole.
func Ignored(name string) bool {
	return strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, "~") ||
		strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".swp") ||
		strings.HasSuffix(name, ".new") ||
		strings.Contains(name, ".dpkg-")
}
