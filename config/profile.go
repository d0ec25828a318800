package config

import (
	"net/netip"
	"strings"

	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

// The configuration keys holding the host-wide defaults of the per-NIC
// profile: the binding keys in lower case. [dhcp] nameservers and domain,
// [ipv6] nameservers and domains and mode are read by the sections' own
// parsers, as before profiles.
var (
	dhcpProfileKeys = []string{
		profile.KeySearch, profile.KeyNTP, profile.KeyRoutes, profile.KeyLeaseTime, profile.KeyRenewalTime,
		profile.KeyNextServer, profile.KeyTFTPServer, profile.KeyBootfile, profile.KeyBootfileEFI,
		profile.KeyBootfileIPXE, profile.KeyIPv6Only, profile.KeyDHCPOptions,
	}
	ipv6ProfileKeys = []string{profile.KeyNTP6, profile.KeyBootfileURL6}
)

// RAOptions holds the RA settings of [ipv6] beyond the original's.
type RAOptions struct {
	RouterPreference ndp.Preference
	RouteInfo        []packets.RouteInfo
	PREF64           netip.Prefix
}

// parseProfile reads the profile defaults of [dhcp] and [ipv6] and the RA
// settings of [ipv6].
func (c *Config) parseProfile(dhcp, ipv6 *sectionReader) error {
	read := func(r *sectionReader, keys []string) error {
		for _, key := range keys {
			name := strings.ToLower(key)
			v, ok := r.raw(name)
			if !ok {
				continue
			}
			if reason := c.Profile.Set(key, v); reason != "" {
				return r.errorf(name, "%q: %s", truncateValue(v), reason)
			}
		}
		return nil
	}
	if err := read(dhcp, dhcpProfileKeys); err != nil {
		return err
	}
	if err := read(ipv6, ipv6ProfileKeys); err != nil {
		return err
	}
	if key, reason := c.Profile.Check(); reason != "" {
		return dhcp.errorf(strings.ToLower(key), "%s", reason)
	}
	return c.IPv6.RA.parse(ipv6)
}

func (ra *RAOptions) parse(r *sectionReader) error {
	if v, ok := r.raw("router_preference"); ok && v != "" {
		p, ok := parsePreference(v)
		if !ok {
			return r.errorf("router_preference", "%q is not one of low, medium, high", v)
		}
		ra.RouterPreference = p
	}
	for _, item := range r.commaList("route_info") {
		fields := strings.Fields(item)
		pfx, err := netip.ParsePrefix(fields[0])
		if err != nil || !pfx.Addr().Is6() || pfx.Addr().Is4In6() || pfx.Masked() != pfx {
			return r.errorf("route_info", "%q is not an IPv6 prefix such as 2001:db8:100::/48", fields[0])
		}
		ri := packets.RouteInfo{Prefix: pfx}
		if len(fields) > 2 {
			return r.errorf("route_info", "%q: want PREFIX [low|medium|high]", item)
		}
		if len(fields) == 2 {
			p, ok := parsePreference(fields[1])
			if !ok {
				return r.errorf("route_info", "%q: preference %q is not one of low, medium, high", item, fields[1])
			}
			ri.Preference = p
		}
		ra.RouteInfo = append(ra.RouteInfo, ri)
	}
	if v, ok := r.raw("pref64"); ok && v != "" {
		p, err := netip.ParsePrefix(v)
		valid := err == nil && p.Addr().Is6() && !p.Addr().Is4In6() && p.Masked() == p
		switch {
		case !valid:
			return r.errorf("pref64", "%q is not an IPv6 prefix such as 64:ff9b::/96", v)
		case p.Bits() != 32 && p.Bits() != 40 && p.Bits() != 48 && p.Bits() != 56 && p.Bits() != 64 && p.Bits() != 96:
			return r.errorf("pref64", "%q: RFC 8781 allows /32, /40, /48, /56, /64 and /96 only", v)
		}
		ra.PREF64 = p
	}
	return nil
}

// parsePreference reads an RFC 4191 preference.
func parsePreference(v string) (ndp.Preference, bool) {
	switch strings.ToLower(v) {
	case "low":
		return ndp.Low, true
	case "medium", "":
		return ndp.Medium, true
	case "high":
		return ndp.High, true
	}
	return 0, false
}

// commaList reads a comma-separated list whose items may hold blanks.
func (r *sectionReader) commaList(key string) []string {
	v, ok := r.raw(key)
	if !ok {
		return nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func truncateValue(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}
