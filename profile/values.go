package profile

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxName is the longest domain name in text form without the final dot
// (RFC 1035 §2.3.4: 255 bytes on the wire).
const maxName = 253

// checkDomain accepts a DNS name: dot-separated labels of at most 63
// letters, digits, '-' and '_', optionally ending with a dot.
func checkDomain(s string) string {
	name := strings.TrimSuffix(s, ".")
	if len(name) > maxName {
		return fmt.Sprintf("name of %d bytes, longer than %d", len(name), maxName)
	}
	if name == "" {
		return "want a domain name such as example.org"
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Sprintf("%q is not a domain name (labels of 1..63 letters, digits, '-', '_')", truncate(s))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("%q is not a domain name (labels of 1..63 letters, digits, '-', '_')", truncate(s))
			}
		}
	}
	return ""
}

func parseSearch(dst *Search, value string) string {
	names := splitList(value)
	if len(names) > MaxSearch {
		return fmt.Sprintf("%d names, want at most %d", len(names), MaxSearch)
	}
	for i, n := range names {
		if reason := checkDomain(n); reason != "" {
			return reason
		}
		names[i] = strings.TrimSuffix(n, ".")
	}
	*dst = Search{Names: names, Wire: EncodeSearch(names)}
	return ""
}

// EncodeSearch encodes names as a DHCPv4 domain search option (119) does:
// RFC 1035 labels, a name's tail that an earlier name already spelled out
// replaced by a pointer to it (RFC 3397 §2, offsets from the start of the
// option data). Pointers only ever lead to labels written out in full,
// never to a name that itself ends in a pointer, since some decoders (the
// insomniacslk/dhcp one among them) refuse chains of pointers.
func EncodeSearch(names []string) []byte {
	var wire []byte
	seen := map[string]int{} // tail of a name -> offset of its full spelling
	for _, name := range names {
		labels := strings.Split(name, ".")
		var offsets []int
		pointed := false
		for i := range labels {
			tail := strings.Join(labels[i:], ".")
			if off, ok := seen[tail]; ok {
				wire = binary.BigEndian.AppendUint16(wire, 0xc000|uint16(off))
				pointed = true
				break
			}
			offsets = append(offsets, len(wire))
			wire = append(wire, byte(len(labels[i])))
			wire = append(wire, labels[i]...)
		}
		if !pointed {
			wire = append(wire, 0)
			for i, off := range offsets {
				if off < 0x3fff {
					seen[strings.Join(labels[i:], ".")] = off
				}
			}
		}
	}
	return wire
}

// parseRoutes reads "DEST/LEN via ROUTER, ...".
func parseRoutes(dst *[]Route, value string) string {
	items := strings.Split(value, ",")
	if len(items) > MaxRoutes {
		return fmt.Sprintf("%d routes, want at most %d", len(items), MaxRoutes)
	}
	out := make([]Route, 0, len(items))
	for _, item := range items {
		fields := strings.Fields(item)
		if len(fields) != 3 || fields[1] != "via" {
			return fmt.Sprintf("%q: want DEST/LEN via ROUTER, such as 169.254.169.254/32 via 192.0.2.1", truncate(strings.TrimSpace(item)))
		}
		dest, err := netip.ParsePrefix(fields[0])
		if err != nil || !dest.Addr().Is4() {
			return fmt.Sprintf("%q is not an IPv4 network such as 10.0.0.0/8", truncate(fields[0]))
		}
		if dest.Masked() != dest {
			return fmt.Sprintf("%q has host bits set (network is %s)", fields[0], dest.Masked())
		}
		via, err := netip.ParseAddr(fields[2])
		if err != nil || !via.Is4() || via.IsMulticast() {
			return fmt.Sprintf("router %q is not an IPv4 address", truncate(fields[2]))
		}
		out = append(out, Route{Dest: dest, Via: via})
	}
	*dst = out
	return ""
}

// OwnedOption reports whether the daemon writes DHCPv4 option code itself
// in a way a raw option must not override: padding and end, the subnet
// mask and router, the message's own bookkeeping (50 to 55, 61), the
// renewal and rebinding times, and relay agent information, which replies
// copy from the request.
func OwnedOption(code byte) bool {
	switch {
	case code == 0, code == 1, code == 3, code >= 50 && code <= 55,
		code == 58, code == 59, code == 61, code == 82, code == 255:
		return true
	}
	return false
}

// parseOptions reads "CODE:TYPE:VALUE, ...". Values of type ips are
// separated by blanks, as commas separate the options.
func parseOptions(dst *[]Option, value string) string {
	items := strings.Split(value, ",")
	if len(items) > MaxOptions {
		return fmt.Sprintf("%d options, want at most %d", len(items), MaxOptions)
	}
	out := make([]Option, 0, len(items))
	var seen [4]uint64
	for _, item := range items {
		item = strings.TrimSpace(item)
		codeText, rest, ok1 := strings.Cut(item, ":")
		typ, val, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			return fmt.Sprintf("%q: want CODE:TYPE:VALUE such as 252:text:http://192.0.2.1/wpad.dat", truncate(item))
		}
		code, err := strconv.ParseUint(codeText, 10, 8)
		if err != nil || code < 1 || code > 254 {
			return fmt.Sprintf("option code %q: want 1..254", truncate(codeText))
		}
		if OwnedOption(byte(code)) {
			return fmt.Sprintf("option %d is the daemon's own (0, 1, 3, 50-55, 58, 59, 61, 82 and 255 cannot be set)", code)
		}
		if seen[code/64]&(1<<(code%64)) != 0 {
			return fmt.Sprintf("option %d given twice", code)
		}
		seen[code/64] |= 1 << (code % 64)
		data, reason := encodeOption(typ, val)
		if reason != "" {
			return fmt.Sprintf("option %d: %s", code, reason)
		}
		out = append(out, Option{Code: byte(code), Data: data})
	}
	*dst = out
	return ""
}

// encodeOption encodes the value of a raw option of type typ.
func encodeOption(typ, val string) ([]byte, string) {
	switch typ {
	case "ip", "ips":
		fields := strings.Fields(val)
		if len(fields) == 0 || typ == "ip" && len(fields) != 1 || len(fields) > MaxText/4 {
			return nil, "want IPv4 addresses (ips: separated by blanks)"
		}
		var b []byte
		for _, f := range fields {
			a, err := netip.ParseAddr(f)
			if err != nil || !a.Is4() {
				return nil, fmt.Sprintf("%q is not an IPv4 address", truncate(f))
			}
			b = append(b, a.AsSlice()...)
		}
		return b, ""
	case "u8", "u16", "u32":
		bits, _ := strconv.Atoi(typ[1:])
		n, err := strconv.ParseUint(val, 0, bits)
		if err != nil {
			return nil, fmt.Sprintf("%q is not an unsigned %d-bit number", truncate(val), bits)
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(n))
		return b[4-bits/8:], ""
	case "bool":
		switch strings.ToLower(val) {
		case "1", "yes", "true", "on":
			return []byte{1}, ""
		case "0", "no", "false", "off":
			return []byte{0}, ""
		}
		return nil, fmt.Sprintf("%q is not a boolean", truncate(val))
	case "text":
		if val == "" || len(val) > MaxText {
			return nil, fmt.Sprintf("text of %d bytes, want 1..%d", len(val), MaxText)
		}
		if !utf8.ValidString(val) || strings.ContainsFunc(val, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, "want UTF-8 text without control characters"
		}
		return []byte(val), ""
	case "hex":
		h := strings.ReplaceAll(val, ":", "")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) == 0 || len(b) > MaxText {
			return nil, fmt.Sprintf("%q: want 1..%d bytes in hex such as 01:02:0a", truncate(val), MaxText)
		}
		return b, ""
	}
	return nil, fmt.Sprintf("type %q: want ip, ips, u8, u16, u32, text, hex or bool", truncate(typ))
}
