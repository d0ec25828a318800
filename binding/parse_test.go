package binding_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

// equateNetip lets cmp compare the netip types, whose fields are
// unexported, and profiles by what they were given.
var equateNetip = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmp.Comparer(func(a, b profile.Profile) bool { return a.Equal(&b) }),
}

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	mac, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

func TestParseValid(t *testing.T) {
	mac := mustMAC(t, "52:54:00:12:34:56")
	tests := []struct {
		name string
		file string
		data string
		want binding.Binding
	}{
		{
			name: "minimal",
			file: "tap0",
			data: "MAC=52:54:00:12:34:56\n",
			want: binding.Binding{Name: "tap0", Indev: "tap0", MAC: mac},
		},
		{
			name: "every key",
			file: "tap1",
			data: strings.Join([]string{
				"INDEV=br0",
				"MAC=52:54:00:12:34:56",
				"IP=192.0.2.10",
				"HOSTNAME=vm1.example.org",
				"SUBNET=192.0.2.77/24",
				"GATEWAY=192.0.2.1",
				"SUBNET6=2001:db8:1::5/64",
				"GATEWAY6=fe80::1",
				"PRIVATE=1",
				"MACSPOOF=true",
				"MTU=1500",
				"TAGS=a b",
				"TABLE=500",
				"UPLINK=eth0",
				"UPLINK6=eth1",
			}, "\n"),
			want: binding.Binding{
				Name: "tap1", Indev: "br0", MAC: mac,
				IP:       netip.MustParseAddr("192.0.2.10"),
				Hostname: "vm1.example.org",
				Subnet:   netip.MustParsePrefix("192.0.2.0/24"),
				Gateway:  netip.MustParseAddr("192.0.2.1"),
				Subnet6:  netip.MustParsePrefix("2001:db8:1::/64"),
				Gateway6: netip.MustParseAddr("fe80::1"),
				EUI64:    netip.MustParseAddr("2001:db8:1:0:5054:ff:fe12:3456"),
				Private:  true, MACSpoof: true, MTU: 1500, Tags: "a b",
				Table: "500", Uplink: "eth0", Uplink6: "eth1",
			},
		},
		{
			name: "comments blank lines export and CRLF",
			file: "tap2",
			data: "# written by a hook\r\n\r\n   \n  export MAC=52:54:00:12:34:56 # trailing\r\n\texport\tHOSTNAME=h\n",
			want: binding.Binding{Name: "tap2", Indev: "tap2", MAC: mac, Hostname: "h"},
		},
		{
			name: "quoting",
			file: "tap3",
			data: "MAC=\"52:54:00:12:34:56\"\n" +
				"HOSTNAME='vm'\n" +
				"TAGS=\"a \\\"b\\\" \\\\ \\$x \\` 'c'\"\n" +
				"TABLE=rt\\_x\n" +
				"UPLINK='et'\"h0\"\n",
			want: binding.Binding{Name: "tap3", Indev: "tap3", MAC: mac, Hostname: "vm",
				Tags: "a \"b\" \\ $x ` 'c'", Table: "rt_x", Uplink: "eth0"},
		},
		{
			name: "single quote escape as a shell writes it",
			file: "tap3",
			data: "MAC=52:54:00:12:34:56\nTAGS='it'\\''s'\n",
			want: binding.Binding{Name: "tap3", Indev: "tap3", MAC: mac, Tags: "it's"},
		},
		{
			name: "hash inside a value is not a comment",
			file: "tap3",
			data: "MAC=52:54:00:12:34:56\nTAGS=a#b \"#c\" # gone\n",
			want: binding.Binding{Name: "tap3", Indev: "tap3", MAC: mac, Tags: "a#b #c"},
		},
		{
			name: "empty values are unset and the last line wins",
			file: "tap4",
			data: "MAC=52:54:00:12:34:56\nIP=192.0.2.1\nIP=\nHOSTNAME=a\nHOSTNAME=b\nTAGS=\"\"\nINDEV=''\nMTU=\n",
			want: binding.Binding{Name: "tap4", Indev: "tap4", MAC: mac, Hostname: "b"},
		},
		{
			name: "unknown keys are ignored whatever their value",
			file: "tap5",
			data: "LINK=br0\nMAC=52:54:00:12:34:56\nmac=zz\nNETWORK_MODE=\xff\xfe\n",
			want: binding.Binding{Name: "tap5", Indev: "tap5", MAC: mac},
		},
		{
			name: "no final newline",
			file: "tap6",
			data: "IP=192.0.2.3\nMAC=52:54:00:12:34:56",
			want: binding.Binding{Name: "tap6", Indev: "tap6", MAC: mac, IP: netip.MustParseAddr("192.0.2.3")},
		},
		{
			name: "switches off",
			file: "tap7",
			data: "MAC=52:54:00:12:34:56\nPRIVATE=0\nMACSPOOF=No\n",
			want: binding.Binding{Name: "tap7", Indev: "tap7", MAC: mac},
		},
		{
			name: "IPv4-only MTU floor and uppercase MAC",
			file: "tap8",
			data: "MAC=52:54:00:12:34:5A\nMTU=576\n",
			want: binding.Binding{Name: "tap8", Indev: "tap8", MAC: mustMAC(t, "52:54:00:12:34:5a"), MTU: 576},
		},
		{
			name: "EUI64 given inside a /56",
			file: "tap9",
			data: "MAC=52:54:00:12:34:56\nSUBNET6=2001:db8:100::/56\nEUI64=2001:db8:100:7::1\n",
			want: binding.Binding{Name: "tap9", Indev: "tap9", MAC: mac,
				Subnet6: netip.MustParsePrefix("2001:db8:100::/56"), EUI64: netip.MustParseAddr("2001:db8:100:7::1")},
		},
		{
			name: "IP equal to a /32 SUBNET",
			file: "tap10",
			data: "MAC=52:54:00:12:34:56\nIP=192.0.2.9\nSUBNET=192.0.2.9/32\nGATEWAY=198.51.100.1\n",
			want: binding.Binding{Name: "tap10", Indev: "tap10", MAC: mac, IP: netip.MustParseAddr("192.0.2.9"),
				Subnet: netip.MustParsePrefix("192.0.2.9/32"), Gateway: netip.MustParseAddr("198.51.100.1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := binding.Parse(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, equateNetip); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	const mac = "MAC=52:54:00:12:34:56\n"
	tests := []struct {
		name string
		file string
		data string
		want string // the whole error message
	}{
		{"bad MAC", "tap0", "IP=192.0.2.1\n\nMAC=zz\n",
			`binding: tap0:3: MAC "zz": invalid (want a 48-bit MAC such as 52:54:00:12:34:56)`},
		{"64-bit MAC", "tap0", "MAC=52:54:00:12:34:56:78:9a\n",
			`binding: tap0:1: MAC "52:54:00:12:34:56:78:9a": invalid (want a 48-bit MAC such as 52:54:00:12:34:56)`},
		{"multicast MAC", "tap0", "MAC=33:33:00:00:00:01\n",
			`binding: tap0:1: MAC "33:33:00:00:00:01": invalid (multicast MAC)`},
		{"zero MAC", "tap0", "MAC=00:00:00:00:00:00\n",
			`binding: tap0:1: MAC "00:00:00:00:00:00": invalid (all-zero MAC)`},
		{"missing MAC", "tap0", "IP=192.0.2.1\n",
			`binding: tap0: MAC: invalid (required key missing)`},
		{"MAC unset by an empty value", "tap0", mac + "MAC=\n",
			`binding: tap0: MAC: invalid (required key missing)`},
		{"bad IP", "tap0", mac + "IP=192.0.2\n",
			`binding: tap0:2: IP "192.0.2": invalid (want an IPv4 address such as 192.0.2.10)`},
		{"IPv6 as IP", "tap0", mac + "IP=2001:db8::1\n",
			`binding: tap0:2: IP "2001:db8::1": invalid (want an IPv4 address such as 192.0.2.10)`},
		{"broadcast IP", "tap0", mac + "IP=255.255.255.255\n",
			`binding: tap0:2: IP "255.255.255.255": invalid (not usable as a host address)`},
		{"IP outside SUBNET", "tap0", mac + "SUBNET=192.0.2.0/24\nIP=198.51.100.1\n",
			`binding: tap0:3: IP "198.51.100.1": invalid (outside SUBNET 192.0.2.0/24)`},
		{"bad SUBNET", "tap0", mac + "SUBNET=192.0.2.0\n",
			`binding: tap0:2: SUBNET "192.0.2.0": invalid (want an IPv4 network such as 192.0.2.0/24)`},
		{"IPv6 SUBNET", "tap0", mac + "SUBNET=2001:db8::/64\n",
			`binding: tap0:2: SUBNET "2001:db8::/64": invalid (want an IPv4 network such as 192.0.2.0/24)`},
		{"bad GATEWAY", "tap0", mac + "GATEWAY=gw\n",
			`binding: tap0:2: GATEWAY "gw": invalid (want an IPv4 address such as 192.0.2.10)`},
		{"IPv4 SUBNET6", "tap0", mac + "SUBNET6=192.0.2.0/24\n",
			`binding: tap0:2: SUBNET6 "192.0.2.0/24": invalid (want an IPv6 prefix such as 2001:db8:1::/64)`},
		{"SUBNET6 too long to derive", "tap0", mac + "SUBNET6=2001:db8::/80\n",
			`binding: tap0:2: SUBNET6 "2001:db8::/80": invalid (longer than /64, so EUI64 cannot be derived from MAC and must be given)`},
		{"bad GATEWAY6", "tap0", mac + "GATEWAY6=192.0.2.1\n",
			`binding: tap0:2: GATEWAY6 "192.0.2.1": invalid (want an IPv6 address such as 2001:db8::1)`},
		{"zoned EUI64", "tap0", mac + "EUI64=fe80::1%eth0\n",
			`binding: tap0:2: EUI64 "fe80::1%eth0": invalid (want an IPv6 address such as 2001:db8::1)`},
		{"EUI64 outside SUBNET6", "tap0", mac + "EUI64=2001:db8:2::1\nSUBNET6=2001:db8:1::/64\n",
			`binding: tap0:2: EUI64 "2001:db8:2::1": invalid (outside SUBNET6 2001:db8:1::/64)`},
		{"MTU not a number", "tap0", mac + "MTU=big\n",
			`binding: tap0:2: MTU "big": invalid (want 576..65535)`},
		{"MTU too small for IPv4", "tap0", mac + "MTU=575\n",
			`binding: tap0:2: MTU "575": invalid (want 576..65535)`},
		{"MTU too small for IPv6", "tap0", mac + "MTU=1279\nSUBNET6=2001:db8::/64\n",
			`binding: tap0:2: MTU "1279": invalid (want 1280..65535)`},
		{"MTU too big", "tap0", mac + "MTU=65536\n",
			`binding: tap0:2: MTU "65536": invalid (want 576..65535)`},
		{"INDEV escaping sysfs", "tap0", mac + "INDEV=../..\n",
			`binding: tap0:2: INDEV "../..": invalid (contains '/')`},
		{"INDEV with a space", "tap0", mac + "INDEV='br 0'\n",
			`binding: tap0:2: INDEV "br 0": invalid (contains whitespace or a control character)`},
		{"UPLINK dot dot", "tap0", mac + "UPLINK=..\n",
			`binding: tap0:2: UPLINK "..": invalid (not a name)`},
		{"UPLINK6 alias", "tap0", mac + "UPLINK6=eth0:1\n",
			`binding: tap0:2: UPLINK6 "eth0:1": invalid (contains ':')`},
		{"TABLE zero", "tap0", mac + "TABLE=0\n",
			`binding: tap0:2: TABLE "0": invalid (want a table number 1..4294967295 or a name of letters, digits, '_', '.' and '-')`},
		{"TABLE beyond 32 bits", "tap0", mac + "TABLE=4294967296\n",
			`binding: tap0:2: TABLE "4294967296": invalid (want a table number 1..4294967295 or a name of letters, digits, '_', '.' and '-')`},
		{"TABLE with a slash", "tap0", mac + "TABLE=a/b\n",
			`binding: tap0:2: TABLE "a/b": invalid (want a table number 1..4294967295 or a name of letters, digits, '_', '.' and '-')`},
		{"HOSTNAME with a space", "tap0", mac + "HOSTNAME='a b'\n",
			`binding: tap0:2: HOSTNAME "a b": invalid (want at most 253 printable ASCII characters without spaces)`},
		{"HOSTNAME too long", "tap0", mac + "HOSTNAME=" + strings.Repeat("a", 254) + "\n",
			`binding: tap0:2: HOSTNAME "` + strings.Repeat("a", 64) + `...": invalid (want at most 253 printable ASCII characters without spaces)`},
		{"TAGS with a control character", "tap0", mac + "TAGS=a\x1bb\n",
			`binding: tap0:2: TAGS "a\x1bb": invalid (want UTF-8 text without control characters)`},
		{"TAGS not UTF-8", "tap0", mac + "TAGS=\xff\n",
			`binding: tap0:2: TAGS "\xff": invalid (want UTF-8 text without control characters)`},
		{"not an assignment", "tap0", mac + "ifconfig tap0 up\n",
			`binding: tap0:2: "ifconfig tap0 up" is not a KEY=VALUE line: invalid`},
		{"bad key", "tap0", mac + "MY-KEY=1\n",
			`binding: tap0:2: key "MY-KEY": invalid (want letters, digits and _)`},
		{"empty key", "tap0", mac + "=1\n",
			`binding: tap0:2: key "": invalid (want letters, digits and _)`},
		{"unterminated double quote", "tap0", mac + "TAGS=\"abc\n",
			`binding: tap0:2: TAGS: unterminated double quote: invalid`},
		{"unterminated single quote in an unknown key", "tap0", mac + "X='abc\n",
			`binding: tap0:2: X: unterminated single quote: invalid`},
		{"trailing backslash", "tap0", mac + "TAGS=abc\\\n",
			`binding: tap0:2: TAGS: line continuation with a trailing backslash is not supported: invalid`},
		{"NUL byte", "tap0", mac + "\nTAGS=a\x00\n",
			`binding: tap0:3: NUL byte: invalid`},
		{"line too long", "tap0", mac + "TAGS=" + strings.Repeat("x", 4092) + "\n",
			`binding: tap0:2: line of 4097 bytes is longer than 4096 bytes: invalid`},
		{"file too large", "tap0", mac + strings.Repeat("#\n", 32768),
			`binding: tap0: file of 65558 bytes is larger than 65536 bytes: invalid`},
		{"file name too long", "tap0123456789abc", mac,
			`binding: file name: binding: interface name "tap0123456789abc": invalid (longer than 15 bytes)`},
		{"file name with a slash", "../tap0", mac,
			`binding: file name: binding: interface name "../tap0": invalid (contains '/')`},
		{"empty file name", "", mac,
			`binding: file name: binding: interface name "": invalid (empty)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := binding.Parse(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if !errors.Is(err, binding.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestLineLimitIsInclusive(t *testing.T) {
	line := "TAGS=" + strings.Repeat("x", binding.MaxLineLength-len("TAGS="))
	if _, err := binding.Parse("tap0", []byte("MAC=52:54:00:12:34:56\n"+line+"\n")); err != nil {
		t.Fatalf("a line of exactly %d bytes: %v", binding.MaxLineLength, err)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"tap0", true},
		{"br-vm.100", true},
		{"a", true},
		{"abcdefghijklmno", true},
		{"abcdefghijklmnop", false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"eth0:1", false},
		{"tap 0", false},
		{"tap\t0", false},
		{"tap\n0", false},
		{"tap\x000", false},
		{"tap\x7f", false},
	}
	for _, tt := range tests {
		err := binding.ValidName(tt.name)
		if got := err == nil; got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, binding.ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, does not wrap ErrInvalid", tt.name, err)
		}
	}
}

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"tap0", false},
		{"vnet12", false},
		{"tmp", false},
		{".tap0.Xa81k", true},
		{".hidden", true},
		{"tap0~", true},
		{"tap0.tmp", true},
		{"tap0.swp", true},
		{"tap0.new", true},
		{"tap0.dpkg-old", true},
		{"tap0.dpkg-dist", true},
	}
	for _, tt := range tests {
		if got := binding.Ignored(tt.name); got != tt.want {
			t.Errorf("Ignored(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
