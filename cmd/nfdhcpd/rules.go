package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder/capture"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// runRules implements `nfdhcpd rules [-c FILE] [-format F] [-taps P,...]`:
// it prints the packet filter rules that feed the configured queues.
func runRules(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("c", config.DefaultPath, "configuration `file`")
	formats := append(capture.Formats(), bridgeGuardFormat)
	format := fs.String("format", "all", "what to print: "+strings.Join(formats, ", "))
	routerRoutes := fs.String("router-routes", "", "instead of the capture rules, print the routes the router needs on its interface `DEV` of a shared uplink to reach the bindings' routed and delegated prefixes and PREFIX6")
	tapList := fs.String("taps", "tap+", "comma-separated TAP name `patterns` in iptables syntax (a trailing + matches any suffix), e.g. tap+,vnet+")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd rules [-c FILE] [-format all|iptables|ip6tables|nft|nft-bridge] [-taps tap+,...]\n\n"+
			"Prints the iptables/ip6tables (iptables-restore format) and nft capture rules\n"+
			"that send the VMs' requests to the queues of the configuration; with\n"+
			"-format nft-bridge, the static part of the bridge guard instead.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("rules: %w: %w", err, errUsage)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("rules: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	if !slices.Contains(formats, *format) {
		return fmt.Errorf("rules: -format %q is not one of %s: %w", *format, strings.Join(formats, ", "), errUsage)
	}
	if *format == bridgeGuardFormat {
		// The guard's rules do not depend on the configuration.
		_, err := io.WriteString(stdout, bridgeGuardScript())
		return err
	}
	taps, err := tapPatterns(*tapList)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if *routerRoutes != "" {
		return writeRouterRoutes(stdout, cfg.General.DataPath, *routerRoutes)
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

// writeRouterRoutes prints, for every valid binding file of dir, the
// routes the router needs on dev to reach its prefixes (docs/routing.md).
func writeRouterRoutes(w io.Writer, dir, dev string) error {
	files, err := config.BindingFiles(dir)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	for _, path := range files {
		b, err := binding.ParseFile(path)
		if err != nil {
			continue // nfdhcpd check reports it
		}
		for _, line := range routing.RouterRoutes(&b, dev) {
			fmt.Fprintf(w, "%s  # %s\n", line, b.Name)
		}
	}
	return nil
}

// bridgeGuardFormat is the -format that prints the bridge guard.
const bridgeGuardFormat = "nft-bridge"

// bridgeGuardScript is the static part of the bridge guard as an nft
// script, for operators who manage their own firewall: the daemon with
// [routing] bridge_guard = yes installs the same table and fills its sets.
func bridgeGuardScript() string {
	return `# The bridge guard of nfdhcpd ([routing] bridge_guard = yes installs it itself).
# Load with nft -f; then, per VM on TAP "tap1" with MAC 52:54:00:12:34:56,
# IPv4 192.0.2.10 and IPv6 2001:db8::5054:ff:fe12:3456 (and link-local):
#   add element bridge nfdhcpd ports { "tap1" }
#   add element bridge nfdhcpd port_mac { "tap1" . 52:54:00:12:34:56 }
#   add element bridge nfdhcpd port_ipv4 { "tap1" . 192.0.2.10 }
#   add element bridge nfdhcpd port_ipv6 { "tap1" . fe80::5054:ff:fe12:3456, "tap1" . 2001:db8::5054:ff:fe12:3456 }
#   add element bridge nfdhcpd port_target { "tap1" . 0xfe80000000000000505400fffe123456, "tap1" . 0x20010db800000000505400fffe123456 }
# (port_target holds the same addresses as 128-bit numbers: nft types the
# neighbour advertisement's target field as one), and "tap1" in macspoof
# when the binding has MACSPOOF.
` + routing.GuardScript()
}
