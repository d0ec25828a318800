package config

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
	"github.com/nfdhcpd/nfdhcpd/activity/hook"
)

// Events is the event command of [general] (issue 15).
type Events struct {
	Command string        // empty: no event command
	Timeout time.Duration // a run is killed after it
	Queue   int           // events waiting at most
}

// DNS is the [dns] section: DNS registration of the bindings' names
// (issue 15). Enabled when server is set.
type DNS struct {
	Enable       bool
	Server       string // address:port
	Zone         string
	ReverseZones []string
	TTL          time.Duration
	Key          dnsreg.Key
	Owner        string
	RegisterSeen bool
}

// parseEvents reads event_command, event_timeout and event_queue.
func (g *General) parseEvents(r *sectionReader) error {
	e := &g.Events
	e.Command = r.str("event_command", "")
	if e.Command != "" && !strings.HasPrefix(e.Command, "/") {
		return r.errorf("event_command", "%q is not an absolute path", e.Command)
	}
	var err error
	if e.Timeout, err = r.seconds("event_timeout", hook.DefaultTimeout); err != nil {
		return err
	}
	if e.Timeout == 0 {
		return r.errorf("event_timeout", "must be at least 1 second")
	}
	n, err := r.uint("event_queue", hook.DefaultQueue, 1<<20)
	if err != nil {
		return err
	}
	if n == 0 {
		return r.errorf("event_queue", "must be at least 1")
	}
	e.Queue = int(n)
	return nil
}

func (d *DNS) parse(r *sectionReader) error {
	d.Server = r.str("server", "")
	d.Zone = r.str("zone", "")
	d.ReverseZones = r.list("reverse_zones")
	keyName := r.str("tsig_name", "")
	alg := r.str("tsig_algorithm", "hmac-sha256")
	secret := r.str("tsig_secret", "")
	keyFile := r.str("tsig_keyfile", "")
	d.Owner = r.str("owner", "")
	var err error
	if d.TTL, err = r.seconds("ttl", dnsreg.DefaultTTL); err != nil {
		return err
	}
	if d.RegisterSeen, err = r.boolean("register_seen_ipv6", false); err != nil {
		return err
	}
	if d.Server == "" {
		if d.Zone != "" {
			return r.errorf("server", "must be set when zone is (address:port of the primary server)")
		}
		return nil
	}
	d.Enable = true
	if ap, err := netip.ParseAddrPort(d.Server); err != nil {
		// A bare address means port 53.
		a, aerr := netip.ParseAddr(d.Server)
		if aerr != nil {
			return r.errorf("server", "%q is not address:port", d.Server)
		}
		d.Server = netip.AddrPortFrom(a, 53).String()
	} else {
		d.Server = ap.String()
	}
	if d.Zone == "" {
		return r.errorf("zone", "must be set when server is")
	}
	if !validDomain(strings.TrimSuffix(d.Zone, ".")) {
		return r.errorf("zone", "%q is not a domain name", d.Zone)
	}
	for _, z := range d.ReverseZones {
		zz := strings.ToLower(strings.TrimSuffix(z, "."))
		if !strings.HasSuffix(zz, ".in-addr.arpa") && !strings.HasSuffix(zz, ".ip6.arpa") {
			return r.errorf("reverse_zones", "%q is not an in-addr.arpa or ip6.arpa zone", z)
		}
	}
	if d.TTL == 0 {
		return r.errorf("ttl", "must be at least 1 second")
	}
	switch {
	case keyFile != "" && secret != "":
		return r.errorf("tsig_keyfile", "set either tsig_secret or tsig_keyfile, not both")
	case keyFile != "":
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return r.errorf("tsig_keyfile", "%v", err)
		}
		k, err := dnsreg.ParseKeyFile(data)
		if err != nil {
			return r.errorf("tsig_keyfile", "%s: %v", keyFile, err)
		}
		d.Key = k
		if keyName != "" && !strings.EqualFold(strings.TrimSuffix(keyName, "."), strings.TrimSuffix(k.Name, ".")) {
			return r.errorf("tsig_name", "%q, but %s holds key %q", keyName, keyFile, k.Name)
		}
		if _, ok := r.raw("tsig_algorithm"); ok || d.Key.Algorithm == "" {
			d.Key.Algorithm = alg
		}
	case secret != "":
		if keyName == "" {
			return r.errorf("tsig_name", "must be set with tsig_secret")
		}
		d.Key = dnsreg.Key{Name: keyName, Algorithm: alg, Secret: secret}
	case keyName != "":
		return r.errorf("tsig_secret", "tsig_name is set: give tsig_secret or tsig_keyfile")
	}
	if d.Key.Name != "" {
		if _, err := dnsreg.Algorithm(d.Key.Algorithm); err != nil {
			return r.errorf("tsig_algorithm", "%v", err)
		}
	}
	if d.Owner == "" {
		h, err := os.Hostname()
		if err != nil {
			return r.errorf("owner", "not set, and the host name is unknown: %v", err)
		}
		d.Owner = h
	}
	return nil
}

// String describes the key without its secret.
func (d DNS) String() string {
	return fmt.Sprintf("server %s zone %s key %q", d.Server, d.Zone, d.Key.Name)
}

// defaultEvents is [general]'s event settings when the file names none.
var defaultEvents = Events{Timeout: hook.DefaultTimeout, Queue: hook.DefaultQueue}
