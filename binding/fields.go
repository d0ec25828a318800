package binding

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// The keys of a binding file, in the order they are validated and written.
const (
	keyIndev    = "INDEV"
	keyMAC      = "MAC"
	keyIP       = "IP"
	keyHostname = "HOSTNAME"
	keySubnet   = "SUBNET"
	keyGateway  = "GATEWAY"
	keySubnet6  = "SUBNET6"
	keyGateway6 = "GATEWAY6"
	keyEUI64    = "EUI64"
	keyPrivate  = "PRIVATE"
	keyMACSpoof = "MACSPOOF"
	keyMTU      = "MTU"
	keyTags     = "TAGS"
	keyTable    = "TABLE"
	keyUplink   = "UPLINK"
	keyUplink6  = "UPLINK6"
)

// knownKeys lists the understood keys in their fixed order. It is a function
// rather than a package variable so that nothing can modify it.
func knownKeys() []string {
	keys := knownKeyArray()
	return keys[:]
}

// numKeys is the number of understood keys.
const numKeys = 16

// knownKeyArray is knownKeys as an array, which the parser ranges over
// without allocating.
func knownKeyArray() [numKeys]string {
	return [numKeys]string{
		keyIndev, keyMAC, keyIP, keyHostname, keySubnet, keyGateway,
		keySubnet6, keyGateway6, keyEUI64, keyPrivate, keyMACSpoof, keyMTU,
		keyTags, keyTable, keyUplink, keyUplink6,
	}
}

// numAllKeys counts the understood keys and the profile's keys after them.
const numAllKeys = numKeys + profile.NumKeys

// allKeys lists knownKeys then the profile keys, in the order they are
// validated and written.
func allKeys() []string {
	known, prof := knownKeyArray(), profile.Keys()
	return append(known[:], prof[:]...)
}

// keyIndex returns the position of key in allKeys, or -1 for a key that
// is not understood.
func keyIndex(key string) int {
	if i := profile.KeyIndex(key); i >= 0 {
		return numKeys + i
	}
	switch key {
	case keyIndev:
		return 0
	case keyMAC:
		return 1
	case keyIP:
		return 2
	case keyHostname:
		return 3
	case keySubnet:
		return 4
	case keyGateway:
		return 5
	case keySubnet6:
		return 6
	case keyGateway6:
		return 7
	case keyEUI64:
		return 8
	case keyPrivate:
		return 9
	case keyMACSpoof:
		return 10
	case keyMTU:
		return 11
	case keyTags:
		return 12
	case keyTable:
		return 13
	case keyUplink:
		return 14
	case keyUplink6:
		return 15
	}
	return -1
}

func isKnownKey(key string) bool { return keyIndex(key) >= 0 }

// isProfileKey reports whether key belongs to the profile, where an empty
// value means "unset, whatever the configuration's default".
func isProfileKey(key string) bool { return profile.KeyIndex(key) >= 0 }

// MTU bounds. IPv6 requires links of at least 1280 bytes (RFC 8200 §5), so a
// binding with SUBNET6 may not announce less; 576 is the smallest datagram
// every IPv4 host must accept (RFC 791), the floor for IPv4-only bindings.
const (
	minMTU4 = 576
	minMTU6 = 1280
	maxMTU  = 65535
)

// maxHostnameLength is the longest DNS name (RFC 1035 §2.3.4, without the
// final dot).
const maxHostnameLength = 253

// maxTableNameLength bounds a TABLE name; rt_tables names are short words.
const maxTableNameLength = 64

// binding validates the collected values and builds the Binding. Checks run
// in the fixed key order, so the error reported for a file with several
// problems does not depend on the order of its lines.
func (f *fileValues) binding() (Binding, error) {
	b := Binding{Name: f.name, Indev: f.name}
	for _, key := range knownKeyArray() {
		v, ok := f.get(key)
		if !ok {
			continue
		}
		if reason := setField(&b, key, v.value); reason != "" {
			return Binding{}, f.invalid(key, v, reason)
		}
	}

	for _, key := range profile.Keys() {
		v, ok := f.get(key)
		if !ok {
			continue
		}
		if reason := b.Profile.Set(key, v.value); reason != "" {
			return Binding{}, f.invalid(key, v, reason)
		}
	}
	if key, reason := b.Profile.Check(); reason != "" {
		return Binding{}, f.invalid(key, f.must(key), reason)
	}

	if _, ok := f.get(keyMAC); !ok {
		return Binding{}, fmt.Errorf("binding: %s: %s: %w (required key missing)", f.name, keyMAC, ErrInvalid)
	}
	if b.IP.IsValid() && b.Subnet.IsValid() && !b.Subnet.Contains(b.IP) {
		return Binding{}, f.invalid(keyIP, f.must(keyIP), "outside SUBNET "+b.Subnet.String())
	}
	if b.Subnet6.IsValid() {
		if v, given := f.get(keyEUI64); given {
			if !b.Subnet6.Contains(b.EUI64) {
				return Binding{}, f.invalid(keyEUI64, v, "outside SUBNET6 "+b.Subnet6.String())
			}
		} else {
			eui, err := EUI64(b.MAC, b.Subnet6)
			if err != nil {
				return Binding{}, f.invalid(keySubnet6, f.must(keySubnet6),
					"longer than /64, so EUI64 cannot be derived from MAC and must be given")
			}
			b.EUI64 = eui
		}
	}
	if v, given := f.get(keyMTU); given {
		low := minMTU4
		if b.Subnet6.IsValid() {
			low = minMTU6
		}
		if b.MTU < low {
			return Binding{}, f.invalid(keyMTU, v, fmt.Sprintf("want %d..%d", low, maxMTU))
		}
	}
	return b, nil
}

// invalid builds the error for the value v of key.
func (f *fileValues) invalid(key string, v located, reason string) error {
	return fmt.Errorf("binding: %s:%d: %s %q: %w (%s)", f.name, v.line, key, truncate(v.value), ErrInvalid, reason)
}

// setField validates value and stores it in b. Values are substrings of
// the whole file's text; the strings kept are copied, so that a binding
// does not hold on to the text of its file. It returns why the value is
// refused, or "" when it is accepted.
func setField(b *Binding, key, value string) (reason string) {
	switch key {
	case keyIndev:
		if value == b.Name {
			b.Indev = b.Name // routed: no copy needed
			return ""
		}
		return setName(&b.Indev, value)
	case keyUplink:
		return setName(&b.Uplink, value)
	case keyUplink6:
		return setName(&b.Uplink6, value)
	case keyMAC:
		mac, err := net.ParseMAC(value)
		switch {
		case err != nil || len(mac) != 6:
			return "want a 48-bit MAC such as 52:54:00:12:34:56"
		case mac[0]&1 != 0:
			return "multicast MAC"
		case isZero(mac):
			return "all-zero MAC"
		}
		b.MAC = mac
	case keyIP:
		return setAddr4(&b.IP, value, true)
	case keyGateway:
		return setAddr4(&b.Gateway, value, false)
	case keySubnet:
		p, err := netip.ParsePrefix(value)
		if err != nil || !p.Addr().Is4() || p.Bits() == 0 {
			return "want an IPv4 network such as 192.0.2.0/24"
		}
		b.Subnet = p.Masked()
	case keySubnet6:
		p, err := netip.ParsePrefix(value)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Bits() == 0 {
			return "want an IPv6 prefix such as 2001:db8:1::/64"
		}
		b.Subnet6 = p.Masked()
	case keyGateway6:
		return setAddr6(&b.Gateway6, value)
	case keyEUI64:
		return setAddr6(&b.EUI64, value)
	case keyHostname:
		if len(value) > maxHostnameLength || strings.IndexFunc(value, notHostnameRune) >= 0 {
			return fmt.Sprintf("want at most %d printable ASCII characters without spaces", maxHostnameLength)
		}
		b.Hostname = strings.Clone(value)
	case keyPrivate:
		b.Private = truthy(value)
	case keyMACSpoof:
		b.MACSpoof = truthy(value)
	case keyMTU:
		mtu, err := strconv.Atoi(value)
		if err != nil || mtu < minMTU4 || mtu > maxMTU {
			return fmt.Sprintf("want %d..%d", minMTU4, maxMTU)
		}
		b.MTU = mtu
	case keyTags:
		if !utf8.ValidString(value) || strings.IndexFunc(value, isControlNotTab) >= 0 {
			return "want UTF-8 text without control characters"
		}
		b.Tags = strings.Clone(value)
	case keyTable:
		if !validTable(value) {
			return "want a table number 1..4294967295 or a name of letters, digits, '_', '.' and '-'"
		}
		b.Table = strings.Clone(value)
	}
	return ""
}

func setName(dst *string, value string) string {
	if err := ValidName(value); err != nil {
		return nameProblem(value)
	}
	*dst = strings.Clone(value)
	return ""
}

// setAddr4 accepts a plain IPv4 address. A host address (forHost) must also
// be one a VM can be given: not unspecified, loopback, multicast or the
// limited broadcast.
func setAddr4(dst *netip.Addr, value string, forHost bool) string {
	a, err := netip.ParseAddr(value)
	if err != nil || !a.Is4() {
		return "want an IPv4 address such as 192.0.2.10"
	}
	if forHost && (a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		return "not usable as a host address"
	}
	*dst = a
	return ""
}

// setAddr6 accepts a plain IPv6 address: no zone, no IPv4-mapped form.
func setAddr6(dst *netip.Addr, value string) string {
	a, err := netip.ParseAddr(value)
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return "want an IPv6 address such as 2001:db8::1"
	}
	*dst = a
	return ""
}

// truthy interprets PRIVATE and MACSPOOF. The original daemon treated every
// non-empty value as set; we keep that, except for the spellings of "off"
// that an operator can only mean as false.
func truthy(value string) bool {
	switch strings.ToLower(value) {
	case "0", "no", "false", "off":
		return false
	}
	return true
}

// validTable reports whether value names a routing table: a number
// 1..2^32-1, or a name as rt_tables spells them.
func validTable(value string) bool {
	if value == "" || len(value) > maxTableNameLength {
		return false
	}
	if value[0] >= '0' && value[0] <= '9' {
		n, err := strconv.ParseUint(value, 10, 32)
		return err == nil && n > 0
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !(c == '_' || c == '.' || c == '-' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func notHostnameRune(r rune) bool { return r <= ' ' || r >= unicode.MaxASCII }

func isControlNotTab(r rune) bool { return r != '\t' && unicode.IsControl(r) }

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
