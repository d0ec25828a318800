package profile

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The keys of a profile, as a binding file spells them.
const (
	KeyNameservers  = "NAMESERVERS"
	KeyNameservers6 = "NAMESERVERS6"
	KeyDomain       = "DOMAIN"
	KeySearch       = "SEARCH"
	KeyNTP          = "NTP"
	KeyNTP6         = "NTP6"
	KeyRoutes       = "ROUTES"
	KeyLeaseTime    = "LEASE_TIME"
	KeyRenewalTime  = "RENEWAL_TIME"
	KeyIPv6Mode     = "IPV6_MODE"
	KeyNextServer   = "NEXT_SERVER"
	KeyTFTPServer   = "TFTP_SERVER"
	KeyBootfile     = "BOOTFILE"
	KeyBootfileEFI  = "BOOTFILE_EFI"
	KeyBootfileIPXE = "BOOTFILE_IPXE"
	KeyBootfileURL6 = "BOOTFILE_URL6"
	KeyIPv6Only     = "IPV6_ONLY"
	KeyDHCPOptions  = "DHCP_OPTIONS"
)

// NumKeys is the number of profile keys.
const NumKeys = 18

// Keys returns the profile keys in their fixed order.
func Keys() [NumKeys]string {
	return [NumKeys]string{
		KeyNameservers, KeyNameservers6, KeyDomain, KeySearch, KeyNTP, KeyNTP6,
		KeyRoutes, KeyLeaseTime, KeyRenewalTime, KeyIPv6Mode, KeyNextServer,
		KeyTFTPServer, KeyBootfile, KeyBootfileEFI, KeyBootfileIPXE,
		KeyBootfileURL6, KeyIPv6Only, KeyDHCPOptions,
	}
}

// KeyIndex returns the position of key in Keys, or -1 when key is not a
// profile key.
func KeyIndex(key string) int {
	switch key {
	case KeyNameservers:
		return 0
	case KeyNameservers6:
		return 1
	case KeyDomain:
		return 2
	case KeySearch:
		return 3
	case KeyNTP:
		return 4
	case KeyNTP6:
		return 5
	case KeyRoutes:
		return 6
	case KeyLeaseTime:
		return 7
	case KeyRenewalTime:
		return 8
	case KeyIPv6Mode:
		return 9
	case KeyNextServer:
		return 10
	case KeyTFTPServer:
		return 11
	case KeyBootfile:
		return 12
	case KeyBootfileEFI:
		return 13
	case KeyBootfileIPXE:
		return 14
	case KeyBootfileURL6:
		return 15
	case KeyIPv6Only:
		return 16
	case KeyDHCPOptions:
		return 17
	}
	return -1
}

// IPv6Mode is how a VM gets its IPv6 configuration.
type IPv6Mode uint8

const (
	ModeSLAAC       IPv6Mode = iota // RA only
	ModeSLAACDHCPv6                 // RA with O flag, DHCPv6 Information-Request
	ModeDHCPv6                      // RA with M flag, stateful DHCPv6
	ModeNone                        // no RA and no DHCPv6 for this NIC
)

func (m IPv6Mode) String() string {
	switch m {
	case ModeSLAAC:
		return "slaac"
	case ModeSLAACDHCPv6:
		return "slaac+dhcpv6"
	case ModeDHCPv6:
		return "dhcpv6"
	case ModeNone:
		return "none"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseIPv6Mode reads the spelling String gives.
func ParseIPv6Mode(s string) (IPv6Mode, bool) {
	for m := ModeSLAAC; m <= ModeNone; m++ {
		if strings.EqualFold(s, m.String()) {
			return m, true
		}
	}
	return 0, false
}

// A Route is one classless static route (DHCPv4 option 121): Dest through
// Via, 0.0.0.0 meaning on the link.
type Route struct {
	Dest netip.Prefix
	Via  netip.Addr
}

// An Option is one raw DHCPv4 option of DHCP_OPTIONS, encoded.
type Option struct {
	Code byte
	Data []byte
}

// A Search is a domain search list: the names, and their encoding for
// DHCPv4 option 119 (RFC 1035 labels compressed as RFC 3397 allows).
type Search struct {
	Names []string
	Wire  []byte
}

// A BootURL is BOOTFILE_URL6: the URL of DHCPv6 option 59 and the
// parameters of option 60.
type BootURL struct {
	URL    string
	Params []string
}

// A Profile holds the settings of one binding file or the defaults of the
// configuration. A field counts only when Has reports its key set; a key
// set to nothing keeps the field's zero value.
type Profile struct {
	Nameservers  []netip.Addr // IPv4, option 6
	Nameservers6 []netip.Addr // DHCPv6 23, RDNSS
	Domain       string       // option 15
	Search       Search       // option 119, DHCPv6 24, DNSSL
	NTP          []netip.Addr // option 42
	NTP6         []netip.Addr // DHCPv6 56
	Routes       []Route      // option 121
	LeaseTime    time.Duration
	RenewalTime  time.Duration
	IPv6Mode     IPv6Mode
	NextServer   netip.Addr // siaddr
	TFTPServer   string     // option 66
	Bootfile     string     // file field and option 67
	BootfileEFI  string
	BootfileIPXE string
	BootfileURL6 BootURL
	IPv6Only     time.Duration // option 108
	DHCPOptions  []Option

	set uint32          // bit i: key i of Keys given
	raw [NumKeys]string // the values as given, for Values and Equal
}

// Has reports whether key was given, empty or not.
func (p *Profile) Has(key string) bool {
	i := KeyIndex(key)
	return i >= 0 && p.set&(1<<i) != 0
}

// Empty reports whether no key was given.
func (p *Profile) Empty() bool { return p.set == 0 }

// Raw returns the value key was given as, and whether it was given.
func (p *Profile) Raw(key string) (string, bool) {
	i := KeyIndex(key)
	if i < 0 || p.set&(1<<i) == 0 {
		return "", false
	}
	return p.raw[i], true
}

// Equal reports whether p and q were given the same keys and values.
func (p *Profile) Equal(q *Profile) bool { return p.set == q.set && p.raw == q.raw }

// Set validates value and stores it as the setting of key; an empty value
// unsets the setting. It returns why the value is refused, "" when it is
// accepted. The value is copied, so p does not keep the caller's memory.
func (p *Profile) Set(key, value string) (reason string) {
	i := KeyIndex(key)
	if i < 0 {
		return "not a profile key"
	}
	var q Profile // the parsed field, copied into p on success
	if value != "" {
		value = strings.Clone(value)
		if reason := q.parse(key, value); reason != "" {
			return reason
		}
	}
	p.copyField(key, &q)
	p.set |= 1 << i
	p.raw[i] = value
	return ""
}

// Unset forgets key, so that the default applies again.
func (p *Profile) Unset(key string) {
	i := KeyIndex(key)
	if i < 0 {
		return
	}
	var zero Profile
	p.copyField(key, &zero)
	p.set &^= 1 << i
	p.raw[i] = ""
}

// Check validates the settings against each other, once all are set: a
// renewal time must come before the lease ends. It returns the key at
// fault and why, or "" and "".
func (p *Profile) Check() (key, reason string) {
	if p.LeaseTime > 0 && p.RenewalTime > 0 && p.RenewalTime >= p.LeaseTime {
		return KeyRenewalTime, fmt.Sprintf("must be shorter than LEASE_TIME %d", p.LeaseTime/time.Second)
	}
	return "", ""
}

// Limits of a profile's values.
const (
	// MaxAddrs bounds each address list.
	MaxAddrs = 16
	// MaxRoutes bounds ROUTES.
	MaxRoutes = 32
	// MaxSearch bounds the names of SEARCH.
	MaxSearch = 32
	// MaxOptions bounds DHCP_OPTIONS.
	MaxOptions = 32
	// MaxText is the longest text value: a single DHCPv4 option.
	MaxText = 255
	// MinIPv6Only is RFC 8925's MIN_V6ONLY_WAIT.
	MinIPv6Only = 300 * time.Second
	maxSeconds  = 1<<32 - 1
)

func (p *Profile) parse(key, value string) string {
	switch key {
	case KeyNameservers:
		return parseAddrs(&p.Nameservers, value, 4)
	case KeyNameservers6:
		return parseAddrs(&p.Nameservers6, value, 6)
	case KeyNTP:
		return parseAddrs(&p.NTP, value, 4)
	case KeyNTP6:
		return parseAddrs(&p.NTP6, value, 6)
	case KeyDomain:
		if reason := checkDomain(value); reason != "" {
			return reason
		}
		p.Domain = value
	case KeySearch:
		return parseSearch(&p.Search, value)
	case KeyRoutes:
		return parseRoutes(&p.Routes, value)
	case KeyLeaseTime:
		return parseSeconds(&p.LeaseTime, value, time.Second)
	case KeyRenewalTime:
		return parseSeconds(&p.RenewalTime, value, time.Second)
	case KeyIPv6Only:
		return parseSeconds(&p.IPv6Only, value, MinIPv6Only)
	case KeyIPv6Mode:
		m, ok := ParseIPv6Mode(value)
		if !ok {
			return "want slaac, slaac+dhcpv6, dhcpv6 or none"
		}
		p.IPv6Mode = m
	case KeyNextServer:
		a, err := netip.ParseAddr(value)
		if err != nil || !a.Is4() || a.IsUnspecified() || a.IsMulticast() {
			return "want an IPv4 unicast address such as 192.0.2.1"
		}
		p.NextServer = a
	case KeyTFTPServer:
		if reason := checkWord(value); reason != "" {
			return reason
		}
		p.TFTPServer = value
	case KeyBootfile, KeyBootfileEFI, KeyBootfileIPXE:
		if reason := checkWord(value); reason != "" {
			return reason
		}
		switch key {
		case KeyBootfile:
			p.Bootfile = value
		case KeyBootfileEFI:
			p.BootfileEFI = value
		default:
			p.BootfileIPXE = value
		}
	case KeyBootfileURL6:
		return parseBootURL(&p.BootfileURL6, value)
	case KeyDHCPOptions:
		return parseOptions(&p.DHCPOptions, value)
	}
	return ""
}

// copyField copies the field of key from q.
func (p *Profile) copyField(key string, q *Profile) {
	switch key {
	case KeyNameservers:
		p.Nameservers = q.Nameservers
	case KeyNameservers6:
		p.Nameservers6 = q.Nameservers6
	case KeyNTP:
		p.NTP = q.NTP
	case KeyNTP6:
		p.NTP6 = q.NTP6
	case KeyDomain:
		p.Domain = q.Domain
	case KeySearch:
		p.Search = q.Search
	case KeyRoutes:
		p.Routes = q.Routes
	case KeyLeaseTime:
		p.LeaseTime = q.LeaseTime
	case KeyRenewalTime:
		p.RenewalTime = q.RenewalTime
	case KeyIPv6Only:
		p.IPv6Only = q.IPv6Only
	case KeyIPv6Mode:
		p.IPv6Mode = q.IPv6Mode
	case KeyNextServer:
		p.NextServer = q.NextServer
	case KeyTFTPServer:
		p.TFTPServer = q.TFTPServer
	case KeyBootfile:
		p.Bootfile = q.Bootfile
	case KeyBootfileEFI:
		p.BootfileEFI = q.BootfileEFI
	case KeyBootfileIPXE:
		p.BootfileIPXE = q.BootfileIPXE
	case KeyBootfileURL6:
		p.BootfileURL6 = q.BootfileURL6
	case KeyDHCPOptions:
		p.DHCPOptions = q.DHCPOptions
	}
}

// Over returns p with every key p does not set taken from def: the
// profile a NIC gets. It copies slice headers only, never their elements.
func (p *Profile) Over(def *Profile) Profile {
	out := *p
	missing := def.set &^ p.set
	if missing == 0 {
		return out
	}
	keys := Keys()
	for i, key := range keys {
		if missing&(1<<i) != 0 {
			out.copyField(key, def)
			out.raw[i] = def.raw[i]
		}
	}
	out.set |= missing
	return out
}

// splitList splits a list on commas and blanks, the configuration's
// "a, b" and "a b" alike.
func splitList(value string) []string {
	return strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func parseAddrs(dst *[]netip.Addr, value string, family int) string {
	items := splitList(value)
	if len(items) > MaxAddrs {
		return fmt.Sprintf("%d addresses, want at most %d", len(items), MaxAddrs)
	}
	out := make([]netip.Addr, 0, len(items))
	for _, item := range items {
		a, err := netip.ParseAddr(item)
		ok := err == nil && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast()
		if family == 4 {
			ok = ok && a.Is4()
		} else {
			ok = ok && a.Is6() && !a.Is4In6()
		}
		if !ok {
			return fmt.Sprintf("%q is not an IPv%d unicast address", truncate(item), family)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return "want one or more addresses separated by commas"
	}
	*dst = out
	return ""
}

func parseSeconds(dst *time.Duration, value string, least time.Duration) string {
	n, err := strconv.ParseUint(value, 10, 64)
	low := uint64(least / time.Second)
	if err != nil || n < low || n > maxSeconds {
		return fmt.Sprintf("want whole seconds %d..%d", low, uint64(maxSeconds))
	}
	*dst = time.Duration(n) * time.Second
	return ""
}

// checkWord accepts a file name, URL or host name: printable ASCII without
// blanks, at most one DHCPv4 option long.
func checkWord(value string) string {
	if len(value) > MaxText {
		return fmt.Sprintf("%d bytes, want at most %d", len(value), MaxText)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c >= 0x7f {
			return "want printable ASCII without blanks"
		}
	}
	return ""
}

func parseBootURL(dst *BootURL, value string) string {
	fields := strings.Fields(value)
	if len(fields) == 0 {
		return "want a URL such as tftp://[2001:db8::1]/boot.efi, then optional parameters"
	}
	url := fields[0]
	if reason := checkWord(url); reason != "" {
		return reason
	}
	if scheme, rest, ok := strings.Cut(url, "://"); !ok || scheme == "" || rest == "" {
		return "want a URL such as tftp://[2001:db8::1]/boot.efi, then optional parameters"
	}
	for _, param := range fields[1:] {
		if reason := checkWord(param); reason != "" {
			return "parameter " + reason
		}
	}
	*dst = BootURL{URL: url, Params: fields[1:len(fields):len(fields)]}
	if len(dst.Params) == 0 {
		dst.Params = nil
	}
	return ""
}

// truncate shortens text quoted in reasons.
func truncate(s string) string {
	const max = 48
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
