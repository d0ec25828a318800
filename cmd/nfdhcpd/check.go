package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/config"
)

// runCheck implements `nfdhcpd check [-c FILE] [BINDING...]`: a linter for
// hooks and CI. It validates the configuration and then every binding file
// of its data directory, or only the files named, prints one line per
// problem and fails when there is any.
func runCheck(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("check", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("c", config.DefaultPath, "configuration `file`")
	quiet := flags.Bool("q", false, "print only problems")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd check [-c FILE] [-q] [BINDING-FILE...]\n\n"+
			"Validates the configuration and every binding file of its data directory\n"+
			"(or only the binding files named). Prints one line per problem and exits\n"+
			"non-zero when there is any.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("check: %w: %w", err, errUsage)
	}

	// Warnings about the configuration (unknown keys) are shown but do not
	// fail the check: the daemon starts with them too.
	cfg, warnings, err := config.LoadWarnings(*configPath)
	for _, w := range warnings {
		fmt.Fprintf(stdout, "%s: warning: %s\n", *configPath, w)
	}
	if err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", *configPath, err)
		return errors.New("check: the configuration is invalid")
	}

	if w := config.BIRDWarning(cfg.Routing); w != "" {
		fmt.Fprintf(stdout, "%s: warning: %s\n", *configPath, w)
	}

	files := flags.Args()
	if len(files) == 0 {
		if files, err = config.BindingFiles(cfg.General.DataPath); err != nil {
			fmt.Fprintf(stdout, "%v\n", err)
			return errors.New("check: the data directory cannot be read")
		}
	}
	problems := 0
	claims := binding.NewClaims()
	for _, path := range files {
		b, err := binding.ParseFile(path)
		if err == nil {
			// As the daemon does: the later file overlapping an earlier
			// one's addresses is refused.
			if err = claims.Check(&b); err == nil {
				claims.Set(&b)
			}
		}
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", path, err)
			problems++
			continue
		}
		if w := config.ProfileWarning(&b, cfg); w != "" {
			fmt.Fprintf(stdout, "%s: warning: %s\n", path, w)
		}
	}
	if problems > 0 {
		return fmt.Errorf("check: %d of %d binding files are invalid", problems, len(files))
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%s: ok, %d binding files ok\n", *configPath, len(files))
	}
	return nil
}
