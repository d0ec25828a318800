package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"github.com/nfdhcpd/nfdhcpd/profile"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// DefaultPath is where the original kept nfdhcpd.conf.
const DefaultPath = "/etc/nfdhcpd/nfdhcpd.conf"

// NoQueue is the queue number of a queue that is not opened.
const NoQueue = -1

// A Config is the validated content of nfdhcpd.conf.
type Config struct {
	General General
	DHCP    DHCP
	IPv6    IPv6
	Routing Routing

	// Profile holds the host-wide defaults of the per-NIC profile
	// (profile.go).
	Profile profile.Profile
}

// General is the [general] section.
type General struct {
	DataPath string // binding files directory
	PIDFile  string // empty: no pidfile
	LogDir   string // accepted for compatibility; logs go to stderr/journald
	User     string // empty: keep running as the starting user

	ControlSocket string // unix socket of `nfdhcpd status`; empty: none
	MetricsListen string // host:port of the Prometheus endpoint; empty: off

	RateLimit RateLimit // per-TAP packet rate (ratelimit.go)
}

// DHCP is the [dhcp] section.
type DHCP struct {
	Enable        bool
	LeaseLifetime time.Duration
	LeaseRenewal  time.Duration
	ServerIP      netip.Addr
	ServerOnLink  bool
	Queue         int // NoQueue when unset
	Nameservers   []netip.Addr
	Domain        string
}

// IPv6 is the [ipv6] section.
type IPv6 struct {
	Enable      bool
	Mode        responder.IPv6Mode // "auto" already resolved
	RAPeriod    time.Duration      // 0: no unsolicited RAs
	RSQueue     int
	NSQueue     int
	DHCPv6Queue int
	Nameservers []netip.Addr
	Domains     []string

	RA RAOptions // router preference, route information, PREF64
}

// Load reads and validates the configuration file at path. Unknown
// keys are logged as warnings, not refused, so that a file written for a
// newer or older daemon still starts it.
func Load(path string, log *slog.Logger) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, log)
}

// Parse validates the content of a configuration file.
func Parse(data []byte, log *slog.Logger) (*Config, error) {
	f, err := ini.LoadSources(ini.LoadOptions{
		Insensitive: true,
		// Inline comments and quotes are handled by stripInlineComment and
		// unquote, which understand the original's "value<TAB># comment"
		// and leave a '#' inside quotes alone.
		IgnoreInlineComment:     true,
		PreserveSurroundedQuote: true,
		IgnoreContinuation:      true,
	}, data)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	readers := map[string]*sectionReader{}
	section := func(name string) *sectionReader {
		r := newSectionReader(f, name)
		readers[name] = r
		return r
	}
	var c Config
	if err := c.General.parse(section("general")); err != nil {
		return nil, err
	}
	if err := c.DHCP.parse(section("dhcp")); err != nil {
		return nil, err
	}
	if err := c.IPv6.parse(section("ipv6")); err != nil {
		return nil, err
	}
	if err := c.Routing.parse(section("routing")); err != nil {
		return nil, err
	}
	if err := c.parseProfile(readers["dhcp"], readers["ipv6"]); err != nil {
		return nil, err
	}
	if err := c.checkQueues(); err != nil {
		return nil, err
	}
	for _, s := range f.Sections() {
		r, known := readers[s.Name()]
		switch {
		case strings.EqualFold(s.Name(), ini.DefaultSection):
			for _, k := range s.KeyStrings() {
				log.Warn("config: unknown key outside any section ignored", "key", k)
			}
		case !known:
			log.Warn("config: unknown section ignored", "section", s.Name())
		default:
			for _, k := range r.unknownKeys() {
				log.Warn("config: unknown key ignored", "section", s.Name(), "key", k)
			}
		}
	}
	if c.DHCP.Enable && !c.DHCP.ServerIP.IsValid() && !c.DHCP.ServerOnLink {
		log.Warn("config: [dhcp] has neither server_ip nor server_on_link = yes: replies use the binding's gateway (or its subnet's first address) as server identifier")
	}
	return &c, nil
}

func (g *General) parse(r *sectionReader) error {
	g.DataPath = r.str("datapath", "/var/lib/nfdhcpd")
	if g.DataPath == "" {
		return r.errorf("datapath", "must not be empty")
	}
	g.PIDFile = r.str("pidfile", "")
	g.LogDir = r.str("logdir", "")
	g.User = r.str("user", "")
	if err := g.parseRateLimit(r); err != nil {
		return err
	}
	return g.parseOps(r)
}

func (d *DHCP) parse(r *sectionReader) error {
	var err error
	if d.Enable, err = r.boolean("enable_dhcp", true); err != nil {
		return err
	}
	if d.LeaseLifetime, err = r.seconds("lease_lifetime", 604800*time.Second); err != nil {
		return err
	}
	if d.LeaseRenewal, err = r.seconds("lease_renewal", 600*time.Second); err != nil {
		return err
	}
	if d.LeaseRenewal > d.LeaseLifetime {
		return r.errorf("lease_renewal", "%d is longer than lease_lifetime %d",
			d.LeaseRenewal/time.Second, d.LeaseLifetime/time.Second)
	}
	if d.ServerIP, err = r.addr("server_ip", 4); err != nil {
		return err
	}
	if d.ServerOnLink, err = r.boolean("server_on_link", false); err != nil {
		return err
	}
	if d.Queue, err = r.queue("dhcp_queue", 42); err != nil {
		return err
	}
	if d.Nameservers, err = r.addrs("nameservers", 4); err != nil {
		return err
	}
	d.Domain = r.str("domain", "")
	if d.Domain != "" && !validDomain(d.Domain) {
		return r.errorf("domain", "%q is not a domain name", d.Domain)
	}
	return nil
}

func (c *IPv6) parse(r *sectionReader) error {
	var err error
	if c.Enable, err = r.boolean("enable_ipv6", true); err != nil {
		return err
	}
	if c.RAPeriod, err = r.seconds("ra_period", 300*time.Second); err != nil {
		return err
	}
	if c.RSQueue, err = r.queue("rs_queue", 43); err != nil {
		return err
	}
	if c.NSQueue, err = r.queue("ns_queue", 44); err != nil {
		return err
	}
	// The original's transition period named the DHCPv6 queue dhcp_queue
	// inside [ipv6]; dhcpv6_queue wins when both are there.
	if _, ok := r.raw("dhcpv6_queue"); ok {
		c.DHCPv6Queue, err = r.queue("dhcpv6_queue", 45)
	} else {
		c.DHCPv6Queue, err = r.queue("dhcp_queue", 45)
	}
	if err != nil {
		return err
	}
	r.used["dhcp_queue"] = true
	if c.Nameservers, err = r.addrs("nameservers", 6); err != nil {
		return err
	}
	c.Domains = r.list("domains")
	for _, d := range c.Domains {
		if !validDomain(d) {
			return r.errorf("domains", "%q is not a domain name", d)
		}
	}
	return c.parseMode(r)
}

// parseMode resolves mode, and the original's enable_dhcpv6, into one of
// the three responder modes. The DHCPv6 queue stays open in slaac mode, for
// the bindings whose IPV6_MODE asks for DHCPv6.
func (c *IPv6) parseMode(r *sectionReader) error {
	legacy, legacySet, err := r.optionalBool("enable_dhcpv6")
	if err != nil {
		return err
	}
	mode := strings.ToLower(r.str("mode", "auto"))
	switch mode {
	case "", "auto":
		switch {
		case legacySet && !legacy:
			c.Mode = responder.ModeSLAAC
		case c.DHCPv6Queue != NoQueue:
			c.Mode = responder.ModeSLAACDHCPv6
		default:
			c.Mode = responder.ModeSLAAC
		}
	case "slaac":
		c.Mode = responder.ModeSLAAC
	case "slaac+dhcpv6":
		c.Mode = responder.ModeSLAACDHCPv6
	case "dhcpv6":
		c.Mode = responder.ModeDHCPv6
	default:
		return r.errorf("mode", "%q is not one of auto, slaac, slaac+dhcpv6, dhcpv6", mode)
	}
	if c.Mode != responder.ModeSLAAC && c.DHCPv6Queue == NoQueue {
		return r.errorf("mode", "%s needs a dhcpv6_queue", modeName(c.Mode))
	}
	return nil
}

func modeName(m responder.IPv6Mode) string {
	switch m {
	case responder.ModeSLAAC:
		return "slaac"
	case responder.ModeSLAACDHCPv6:
		return "slaac+dhcpv6"
	case responder.ModeDHCPv6:
		return "dhcpv6"
	}
	return fmt.Sprintf("mode(%d)", m)
}

// checkQueues refuses two protocols on one queue: the kernel allows one
// listener per queue, and the second would fail with a less clear error.
func (c *Config) checkQueues() error {
	seen := map[int]string{}
	for _, q := range c.Queues() {
		if other, dup := seen[q.Num]; dup {
			return fmt.Errorf("config: queue %d is used for both %s and %s", q.Num, other, q.Kind)
		}
		seen[q.Num] = q.Kind.String()
	}
	return nil
}

// A QueueSpec is one queue the daemon opens.
type QueueSpec struct {
	Kind responder.Kind
	Num  int
}

// Queues returns the queues to open: those with a number, of the enabled
// protocols, in a stable order.
func (c *Config) Queues() []QueueSpec {
	var qs []QueueSpec
	add := func(enabled bool, k responder.Kind, n int) {
		if enabled && n != NoQueue {
			qs = append(qs, QueueSpec{Kind: k, Num: n})
		}
	}
	add(c.DHCP.Enable, responder.KindDHCPv4, c.DHCP.Queue)
	add(c.IPv6.Enable, responder.KindRS, c.IPv6.RSQueue)
	add(c.IPv6.Enable, responder.KindNS, c.IPv6.NSQueue)
	add(c.IPv6.Enable, responder.KindDHCPv6, c.IPv6.DHCPv6Queue)
	return qs
}

// ResponderOptions maps the configuration to the responder's options.
func (c *Config) ResponderOptions() responder.Options {
	return responder.Options{
		LeaseTime:    c.DHCP.LeaseLifetime,
		RenewalTime:  c.DHCP.LeaseRenewal,
		ServerIP:     c.DHCP.ServerIP,
		ServerOnLink: c.DHCP.ServerOnLink,
		Nameservers:  c.DHCP.Nameservers,
		Domain:       c.DHCP.Domain,
		IPv6:         c.IPv6.Enable,
		Mode:         c.IPv6.Mode,
		RAPeriod:     c.IPv6.RAPeriod,
		Nameservers6: c.IPv6.Nameservers,
		Domains6:     c.IPv6.Domains,
		RateLimit:    c.General.RateLimit.options(),

		RouterPreference: c.IPv6.RA.RouterPreference,
		RouteInfo:        c.IPv6.RA.RouteInfo,
		PREF64:           c.IPv6.RA.PREF64,
		Profile:          c.Profile,
	}
}

// validDomain reports whether s is a plausible DNS name: dot-separated
// labels of letters, digits, '-' and '_', optionally ending with a dot.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
