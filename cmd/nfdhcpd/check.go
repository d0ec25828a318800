package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	warnings := &warningCollector{}
	cfg, err := config.Load(*configPath, slog.New(warnings))
	for _, w := range warnings.lines {
		fmt.Fprintf(stdout, "%s: warning: %s\n", *configPath, w)
	}
	if err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", *configPath, err)
		return errors.New("check: the configuration is invalid")
	}

	files := flags.Args()
	if len(files) == 0 {
		if files, err = bindingFiles(cfg.General.DataPath); err != nil {
			fmt.Fprintf(stdout, "%v\n", err)
			return errors.New("check: the data directory cannot be read")
		}
	}
	problems := 0
	for _, path := range files {
		if _, err := binding.ParseFile(path); err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", path, err)
			problems++
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

// bindingFiles returns the paths of the binding files in dir, sorted,
// leaving out what the daemon ignores too (temporary and hidden files) and
// subdirectories.
func bindingFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config: [general] datapath: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() || binding.Ignored(e.Name()) {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	slices.Sort(paths)
	return paths, nil
}

// A warningCollector is a slog.Handler that keeps the messages of warnings
// and above, with their attributes, as text lines.
type warningCollector struct {
	lines []string
}

func (w *warningCollector) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

func (w *warningCollector) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	w.lines = append(w.lines, b.String())
	return nil
}

func (w *warningCollector) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warningCollector) WithGroup(string) slog.Handler      { return w }
