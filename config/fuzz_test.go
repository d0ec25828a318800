package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to the parser: it must never
// panic, and whatever it accepts must be self-consistent — queue numbers
// in range and distinct, a resolved IPv6 mode with the queue it needs, a
// lease renewal within the lease.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join(fixtures, dir, "*.conf"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, log)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, q := range c.Queues() {
			if q.Num < 0 || q.Num > 65535 || seen[q.Num] {
				t.Fatalf("accepted bad or shared queue %d in %v", q.Num, c.Queues())
			}
			seen[q.Num] = true
		}
		if c.DHCP.LeaseRenewal > c.DHCP.LeaseLifetime {
			t.Fatalf("renewal %v beyond lease %v", c.DHCP.LeaseRenewal, c.DHCP.LeaseLifetime)
		}
		if c.IPv6.Mode != 0 && c.IPv6.DHCPv6Queue == NoQueue {
			t.Fatalf("mode %s without a DHCPv6 queue", modeName(c.IPv6.Mode))
		}
		if c.General.DataPath == "" {
			t.Fatal("empty datapath accepted")
		}
		for _, a := range append(c.DHCP.Nameservers, c.DHCP.ServerIP) {
			if a.IsValid() && !a.Is4() {
				t.Fatalf("IPv4 setting holds %s", a)
			}
		}
		for _, a := range c.IPv6.Nameservers {
			if !a.Is6() || a.Is4In6() {
				t.Fatalf("IPv6 setting holds %s", a)
			}
		}
		_ = c.ResponderOptions()
	})
}
