package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// buildVersion is set at link time (-ldflags "-X main.buildVersion=1.2.3");
// it is the only package-level variable, written by the linker, never at
// run time.
var buildVersion string

// version returns the version of this binary: the linker's, else the
// module version Go recorded, else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "nfdhcpd %s\n", version())
	return nil
}
