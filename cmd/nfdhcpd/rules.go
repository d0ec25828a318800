package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder/capture"
)

// runRules implements `nfdhcpd rules [-c FILE] [-format F] [-taps P,...]`:
// it prints the packet filter rules that feed the configured queues.
func runRules(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("c", config.DefaultPath, "configuration `file`")
	format := fs.String("format", "all", "what to print: "+strings.Join(capture.Formats(), ", "))
	tapList := fs.String("taps", "tap+", "comma-separated TAP name `patterns` in iptables syntax (a trailing + matches any suffix), e.g. tap+,vnet+")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd rules [-c FILE] [-format all|iptables|ip6tables|nft] [-taps tap+,...]\n\n"+
			"Prints the iptables/ip6tables (iptables-restore format) and nft capture rules\n"+
			"that send the VMs' requests to the queues of the configuration.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("rules: %w: %w", err, errUsage)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("rules: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	if !slices.Contains(capture.Formats(), *format) {
		return fmt.Errorf("rules: -format %q is not one of %s: %w", *format, strings.Join(capture.Formats(), ", "), errUsage)
	}
	taps, err := tapPatterns(*tapList)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	queues := cfg.Queues()
	if len(queues) == 0 {
		return errors.New("rules: the configuration opens no queue")
	}
	return capture.Write(stdout, *format, queues, taps)
}

// tapPatterns splits and checks the -taps list: each pattern must be an
// interface name, optionally ending in '+'.
func tapPatterns(list string) ([]string, error) {
	var taps []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		name := strings.TrimSuffix(p, "+")
		if name == "" || len(name) > 15 || strings.ContainsAny(name, " \t/:\"'+*") {
			return nil, fmt.Errorf("rules: -taps: %q is not an interface name pattern: %w", p, errUsage)
		}
		taps = append(taps, p)
	}
	return taps, nil
}
