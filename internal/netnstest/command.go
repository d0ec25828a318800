package netnstest

import (
	"os/exec"
	"strings"
	"testing"
)

// Run runs the command args and returns its combined output. A command
// the kernel refuses ("not permitted", as in a container without
// CAP_SYS_ADMIN) is a missing prerequisite; any other failure fails t with
// the command's output.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not permitted") {
			MissingPrerequisite(t, "%s: %v: %s", strings.Join(args, " "), err, out)
		}
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
