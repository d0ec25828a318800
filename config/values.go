package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// A sectionReader reads the typed values of one INI section, remembers
// which keys were asked for (so that the rest can be reported as unknown)
// and names the section and key in every error.
type sectionReader struct {
	name string
	sec  *ini.Section // nil when the file has no such section
	used map[string]bool
}

func newSectionReader(f *ini.File, name string) *sectionReader {
	r := &sectionReader{name: name, used: make(map[string]bool)}
	if s, err := f.GetSection(name); err == nil {
		r.sec = s
	}
	return r
}

// raw returns the value of key with its inline comment and surrounding
// quotes removed, and whether the key is present at all.
func (r *sectionReader) raw(key string) (string, bool) {
	r.used[key] = true
	if r.sec == nil || !r.sec.HasKey(key) {
		return "", false
	}
	return unquote(stripInlineComment(r.sec.Key(key).Value())), true
}

func (r *sectionReader) errorf(key, format string, args ...any) error {
	return fmt.Errorf("config: [%s] %s: %s", r.name, key, fmt.Sprintf(format, args...))
}

// unknownKeys returns the keys of the section that no reader asked for.
func (r *sectionReader) unknownKeys() []string {
	if r.sec == nil {
		return nil
	}
	var unknown []string
	for _, k := range r.sec.KeyStrings() {
		if !r.used[k] {
			unknown = append(unknown, k)
		}
	}
	return unknown
}

func (r *sectionReader) str(key, def string) string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	return v
}

func (r *sectionReader) boolean(key string, def bool) (bool, error) {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, r.errorf(key, "%q is not a boolean (yes/no, true/false, on/off, 1/0)", v)
}

// optionalBool is like boolean but also reports whether the key had a value.
func (r *sectionReader) optionalBool(key string) (value, set bool, err error) {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return false, false, nil
	}
	b, err := r.boolean(key, false)
	return b, err == nil, err
}

func (r *sectionReader) uint(key string, def, max uint64) (uint64, error) {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, r.errorf(key, "%q is not a number", v)
	}
	if n > max {
		return 0, r.errorf(key, "%d is out of range (0-%d)", n, max)
	}
	return n, nil
}

// seconds reads a whole number of seconds, the unit of the original's
// lease and period settings.
func (r *sectionReader) seconds(key string, def time.Duration) (time.Duration, error) {
	n, err := r.uint(key, uint64(def/time.Second), 1<<32-1)
	return time.Duration(n) * time.Second, err
}

// queue reads an NFQUEUE number. An absent key gives def; a key present
// with an empty value means the queue is not opened.
func (r *sectionReader) queue(key string, def int) (int, error) {
	v, ok := r.raw(key)
	if !ok {
		return def, nil
	}
	if v == "" {
		return NoQueue, nil
	}
	n, err := r.uint(key, 0, 65535)
	return int(n), err
}

// addr reads one address of the given family (4 or 6); unset is the zero
// Addr.
func (r *sectionReader) addr(key string, family int) (netip.Addr, error) {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return netip.Addr{}, nil
	}
	return r.parseAddr(key, v, family)
}

func (r *sectionReader) parseAddr(key, v string, family int) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, r.errorf(key, "%q is not an IP address", v)
	}
	a = a.Unmap()
	if (family == 4) != a.Is4() {
		return netip.Addr{}, r.errorf(key, "%q is not an IPv%d address", v, family)
	}
	return a, nil
}

// addrs reads a comma- or space-separated list of addresses of one family.
func (r *sectionReader) addrs(key string, family int) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, v := range r.list(key) {
		a, err := r.parseAddr(key, v, family)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// prefix reads a network in CIDR notation of the given family; the host
// bits must be zero so that a typo is not silently widened.
func (r *sectionReader) prefix(key string, family int) (netip.Prefix, error) {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, r.errorf(key, "%q is not a network in CIDR notation", v)
	}
	if (family == 4) != p.Addr().Is4() {
		return netip.Prefix{}, r.errorf(key, "%q is not an IPv%d network", v, family)
	}
	if p.Masked() != p {
		return netip.Prefix{}, r.errorf(key, "%q has host bits set (network is %s)", v, p.Masked())
	}
	return p, nil
}

// list reads a comma- or space-separated list, the original accepting
// both "a, b" and "a b"; each item may be quoted.
func (r *sectionReader) list(key string) []string {
	v, ok := r.raw(key)
	if !ok {
		return nil
	}
	var out []string
	for _, item := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		if item = unquote(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// stripInlineComment removes a trailing "# comment" from an INI value. A
// '#' starts a comment at the beginning of the value or after a space or a
// tab, and never inside quotes: the original (configobj) wrote
// "lease_renewal = 3600 \t# 1 hour", which ini.v1's own SpaceBeforeInlineComment
// rule (a space right before '#') does not catch.
func stripInlineComment(v string) string {
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || v[i-1] == ' ' || v[i-1] == '\t'):
			return strings.TrimSpace(v[:i])
		}
	}
	return strings.TrimSpace(v)
}

// unquote removes one pair of surrounding quotes, unless the same quote
// also appears inside ("a", "b" is a list of two quoted items).
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && strings.IndexByte(v[1:], v[0]) == len(v)-2 {
		return v[1 : len(v)-1]
	}
	return v
}
