package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// runEUI64 prints the address SLAAC gives a MAC inside a prefix, like the
// original's mac2eui64 helper that hooks used.
func runEUI64(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eui64", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nfdhcpd eui64 MAC PREFIX\n\n"+
			"Prints the address SLAAC gives MAC in PREFIX (a /64 or shorter).\n")
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("eui64: %w: %w", err, errUsage)
	}
	if args = fs.Args(); len(args) != 2 {
		return fmt.Errorf("eui64 needs MAC and PREFIX (e.g. nfdhcpd eui64 aa:00:00:12:34:56 2001:db8::/64): %w", errUsage)
	}
	mac, err := net.ParseMAC(args[0])
	if err != nil {
		return fmt.Errorf("eui64: %q is not a MAC address: %w", args[0], errUsage)
	}
	prefix, err := netip.ParsePrefix(args[1])
	if err != nil {
		return fmt.Errorf("eui64: %q is not a prefix in CIDR notation: %w", args[1], errUsage)
	}
	a, err := binding.EUI64(mac, prefix)
	if err != nil {
		return fmt.Errorf("eui64: %w", err)
	}
	fmt.Fprintln(stdout, a)
	return nil
}
