package binding

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nfdhcpd/nfdhcpd/profile"
)

// Values returns the file content of b as key/value pairs, the inverse of
// Parse: Parse of Format(b.Values()) gives b back. Unset fields are left
// out, EUI64 is always written when known, and INDEV only when it differs
// from the name.
func (b *Binding) Values() map[string]string {
	v := make(map[string]string, len(knownKeys()))
	put := func(key, value string) {
		if value != "" {
			v[key] = value
		}
	}
	if b.Indev != b.Name {
		put(keyIndev, b.Indev)
	}
	if b.MAC != nil {
		put(keyMAC, b.MAC.String())
	}
	put(keyIP, addrString(b.IP))
	put(keyHostname, b.Hostname)
	put(keySubnet, prefixString(b.Subnet))
	put(keyGateway, addrString(b.Gateway))
	put(keySubnet6, prefixString(b.Subnet6))
	put(keyGateway6, addrString(b.Gateway6))
	put(keyEUI64, addrString(b.EUI64))
	if b.Private {
		put(keyPrivate, "yes")
	}
	if b.MACSpoof {
		put(keyMACSpoof, "yes")
	}
	if b.MTU != 0 {
		put(keyMTU, strconv.Itoa(b.MTU))
	}
	put(keyTags, b.Tags)
	put(keyTable, b.Table)
	put(keyUplink, b.Uplink)
	put(keyUplink6, b.Uplink6)
	for _, key := range profile.Keys() {
		if raw, ok := b.Profile.Raw(key); ok {
			v[key] = raw // empty too: it unsets the default
		}
	}
	return v
}

// Format serializes values as binding file content: one KEY=VALUE line per
// non-empty value (an empty profile key too: it unsets the default), the understood keys first in a fixed order, then the
// others sorted, each value quoted so that both Parse and a POSIX shell read
// it back unchanged. It fails on a key that is not a shell variable name and
// on a value with a NUL, a line break or another control character other
// than tab, which no line-based file can carry.
func Format(values map[string]string) ([]byte, error) {
	keys := slices.Collect(maps.Keys(values))
	slices.SortFunc(keys, func(a, b string) int {
		ra, rb := keyRank(a), keyRank(b)
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var buf bytes.Buffer
	for _, key := range keys {
		value := values[key]
		if !validKey(key) {
			return nil, fmt.Errorf("binding: key %q: %w (want letters, digits and _)", truncate(key), ErrInvalid)
		}
		if strings.IndexFunc(value, isControlNotTab) >= 0 {
			return nil, fmt.Errorf("binding: %s %q: %w (control character)", key, truncate(value), ErrInvalid)
		}
		if value == "" && !isProfileKey(key) {
			continue
		}
		buf.WriteString(key)
		buf.WriteByte('=')
		buf.WriteString(shellQuote(value))
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// keyRank orders the understood keys before all others.
func keyRank(key string) int {
	if i := keyIndex(key); i >= 0 {
		return i
	}
	return numAllKeys
}

// shellQuote leaves a value made only of characters no shell treats
// specially as it is, and puts any other value in single quotes; an embedded
// single quote closes the quoted part, is written backslash-escaped, and
// reopens it.
func shellQuote(value string) string {
	plain := strings.IndexFunc(value, func(r rune) bool {
		return !(r == '_' || r == '.' || r == ':' || r == '/' || r == '-' || r == '+' || r == ',' || r == '@' || r == '%' ||
			'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) < 0
	if plain {
		return value
	}
	return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

// WriteFile writes the binding file called name into dir atomically, for
// hooks: the content is serialized with Format and validated with Parse
// first, so a binding the daemon would refuse is never written; then it goes
// to a hidden temporary file in dir (ignored by the Table, see Ignored),
// which is synced and renamed over the target, and the directory is synced.
// Readers see either the old file or the new one, never a part.
func WriteFile(dir, name string, values map[string]string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if Ignored(name) {
		return fmt.Errorf("binding: file name %q would be ignored by the daemon: %w", name, ErrInvalid)
	}
	data, err := Format(values)
	if err != nil {
		return fmt.Errorf("binding: %s: %w", name, err)
	}
	if _, err := Parse(name, data); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("binding: %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := writeAndSync(tmp, data); err != nil {
		return fmt.Errorf("binding: %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("binding: %s: %w", name, err)
	}
	return syncDir(dir)
}

// writeAndSync writes data to f, makes it readable by others (CreateTemp
// makes it private) and syncs and closes it.
func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("binding: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("binding: %w", err)
	}
	return nil
}

// RemoveFile removes the binding file called name from dir, for the ifdown
// hook. A file that does not exist is not an error: the hook may run twice.
func RemoveFile(dir, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("binding: %w", err)
	}
	return syncDir(dir)
}

// addrString is a.String() with "" for an unset address, where netip would
// write "invalid IP".
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// prefixString is p.String() with "" for an unset prefix.
func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}
