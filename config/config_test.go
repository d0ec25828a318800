package config

import (
	"bytes"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mdlayher/ndp"

	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

const fixtures = "../fixtures/config"

// equateNetIP compares netip values, whose fields are unexported, with ==.
var equateNetIP = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmp.Comparer(func(a, b profile.Profile) bool { return a.Equal(&b) }),
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// defaultConfig is what an empty file gives.
func defaultConfig() Config {
	return Config{
		General: General{DataPath: "/var/lib/nfdhcpd", ControlSocket: DefaultControlSocket, RateLimit: defaultRateLimit},
		DHCP: DHCP{
			Enable:        true,
			LeaseLifetime: 604800 * time.Second,
			LeaseRenewal:  600 * time.Second,
			Queue:         42,
		},
		IPv6: IPv6{
			Enable:      true,
			Mode:        responder.ModeSLAACDHCPv6,
			RAPeriod:    300 * time.Second,
			RSQueue:     43,
			NSQueue:     44,
			DHCPv6Queue: 45,
		},
		Routing: Routing{Role: RoleVMC, Table: "500", Antispoof: true},
	}
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		file     string
		want     func(c *Config)
		warnings []string // substrings of the warnings logged, in order
	}{
		{file: "empty.conf", want: func(c *Config) {}},
		{file: "original.conf", want: func(c *Config) {
			c.General = General{DataPath: "/var/lib/nfdhcpd", PIDFile: "/run/nfdhcpd/nfdhcpd.pid", LogDir: "/var/log/nfdhcpd", User: "nobody", ControlSocket: DefaultControlSocket, RateLimit: defaultRateLimit}
			c.DHCP.LeaseRenewal = time.Hour
			c.DHCP.ServerIP = netip.MustParseAddr("192.0.2.1")
			c.DHCP.Nameservers = addrs("192.0.2.2", "192.0.2.3")
			c.DHCP.Domain = "example.com"
			c.IPv6.Nameservers = addrs("2001:db8:100::1", "2001:db8:200::2")
			c.IPv6.Domains = []string{"example.com"}
		}},
		{file: "minimal-old.conf", want: func(c *Config) {
			c.General.DataPath = "/srv/nfdhcpd"
			c.DHCP.ServerIP = netip.MustParseAddr("198.51.100.1")
			c.DHCP.Nameservers = addrs("198.51.100.53", "198.51.100.54")
			c.DHCP.Domain = "vm.example.org"
			c.IPv6.Mode = responder.ModeSLAAC
			// Open in slaac mode too, for bindings with IPV6_MODE.
			c.IPv6.DHCPv6Queue = 46
			c.IPv6.Nameservers = addrs("2001:db8::53")
			c.IPv6.Domains = []string{"example.org", "example.net"}
		}},
		{file: "routing-vmc.conf", want: func(c *Config) {
			c.DHCP.ServerOnLink = true
			c.DHCP.LeaseLifetime = 24 * time.Hour
			c.IPv6.Mode = responder.ModeDHCPv6
			c.IPv6.NSQueue = NoQueue
			c.IPv6.RAPeriod = 0
			c.Routing = Routing{
				Enable:   true,
				Role:     RoleVMC,
				Table:    "routed_net",
				Uplink:   "eth0.500",
				Uplink6:  "eth0.500",
				Subnet:   netip.MustParsePrefix("192.0.2.0/24"),
				Gateway:  netip.MustParseAddr("192.0.2.1"),
				ARPIP:    netip.MustParseAddr("192.0.2.254"),
				Subnet6:  netip.MustParsePrefix("2001:db8:500::/64"),
				Gateway6: netip.MustParseAddr("2001:db8:500::1"),
			}
		}},
		{file: "profile.conf", want: func(c *Config) {
			c.DHCP.Nameservers = addrs("192.0.2.53")
			for _, kv := range [][2]string{
				{profile.KeySearch, "tenant.example, example.org"}, {profile.KeyNTP, "192.0.2.123"},
				{profile.KeyRoutes, "169.254.169.254/32 via 192.0.2.1"}, {profile.KeyLeaseTime, "3600"},
				{profile.KeyRenewalTime, "1200"}, {profile.KeyNextServer, "192.0.2.5"}, {profile.KeyTFTPServer, "192.0.2.5"},
				{profile.KeyBootfile, "pxelinux.0"}, {profile.KeyBootfileEFI, "grubx64.efi"},
				{profile.KeyBootfileIPXE, "http://192.0.2.5/boot.ipxe"}, {profile.KeyIPv6Only, "1800"},
				{profile.KeyDHCPOptions, "252:text:http://192.0.2.1/wpad.dat"}, {profile.KeyNTP6, "2001:db8::123"},
				{profile.KeyBootfileURL6, "tftp://[2001:db8::5]/grubx64.efi"},
			} {
				if reason := c.Profile.Set(kv[0], kv[1]); reason != "" {
					t.Fatal(reason)
				}
			}
			c.IPv6.RA = RAOptions{
				RouterPreference: ndp.High,
				RouteInfo: []packets.RouteInfo{
					{Prefix: netip.MustParsePrefix("2001:db8:100::/48"), Preference: ndp.Low},
					{Prefix: netip.MustParsePrefix("2001:db8:200::/64")},
				},
				PREF64: netip.MustParsePrefix("64:ff9b::/96"),
			}
		}},
		{file: "stray-key.conf", want: func(c *Config) {}, warnings: []string{"outside any section"}},
		{file: "unknown-keys.conf", want: func(c *Config) {
			c.DHCP.Enable = false
			c.DHCP.Queue = 50
			c.IPv6.Enable = false
		}, warnings: []string{"key=colour", "section=metrics"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, "good", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var logged bytes.Buffer
			got, err := Parse(data, slog.New(slog.NewTextHandler(&logged, nil)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := defaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, *got, equateNetIP); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			var unknown []string
			for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
				if strings.Contains(line, "unknown") {
					unknown = append(unknown, line)
				}
			}
			if len(unknown) != len(tt.warnings) {
				t.Fatalf("got %d unknown-key warnings, want %d:\n%s", len(unknown), len(tt.warnings), logged.String())
			}
			for i, w := range tt.warnings {
				if !strings.Contains(unknown[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, unknown[i], w)
				}
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtures, "bad", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			reason, err := os.ReadFile(strings.TrimSuffix(f, ".conf") + ".reason")
			if err != nil {
				t.Fatalf("every bad fixture needs a .reason file: %v", err)
			}
			want := strings.TrimSpace(string(reason))
			_, err = Load(f, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("Load accepted %s, want error containing %q", f, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.conf"), slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "config: ") || !strings.Contains(err.Error(), "none.conf") {
		t.Errorf("Load(missing) error = %v, want a config: error naming the file", err)
	}
}

func TestStripInlineComment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"42", "42"},
		{"42 # queue", "42"},
		{"3600 \t# an hour", "3600"},
		{"3600\t# an hour", "3600"},
		{"# all comment", ""},
		{"a#b", "a#b"},
		{`"a # b" # c`, `"a # b"`},
		{`'x #y'`, `'x #y'`},
		{"  padded  ", "padded"},
	}
	for _, tt := range tests {
		if got := stripInlineComment(tt.in); got != tt.want {
			t.Errorf("stripInlineComment(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestListValues(t *testing.T) {
	tests := []struct {
		value string
		want  []string
	}{
		{"a, b", []string{"a", "b"}},
		{"a b\tc", []string{"a", "b", "c"}},
		{`"a", 'b'`, []string{"a", "b"}},
		{`"a"`, []string{"a"}},
		{"a,,b, ", []string{"a", "b"}},
		{"", nil},
	}
	for _, tt := range tests {
		c, err := Parse([]byte("[ipv6]\ndomains = "+tt.value+"\n"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("domains = %s: %v", tt.value, err)
		}
		if diff := cmp.Diff(tt.want, c.IPv6.Domains); diff != "" {
			t.Errorf("domains = %s (-want +got):\n%s", tt.value, diff)
		}
	}
}

func TestQueues(t *testing.T) {
	tests := []struct {
		conf string
		want []QueueSpec
	}{
		{"", []QueueSpec{{responder.KindDHCPv4, 42}, {responder.KindRS, 43}, {responder.KindNS, 44}, {responder.KindDHCPv6, 45}}},
		{"[ipv6]\nenable_ipv6 = no\n", []QueueSpec{{responder.KindDHCPv4, 42}}},
		// The DHCPv6 queue opens in slaac mode too, for bindings whose
		// IPV6_MODE asks for DHCPv6 (issue 12); only an empty number
		// leaves it closed.
		{"[dhcp]\nenable_dhcp = no\n[ipv6]\nmode = slaac\n", []QueueSpec{{responder.KindRS, 43}, {responder.KindNS, 44}, {responder.KindDHCPv6, 45}}},
		{"[dhcp]\nenable_dhcp = no\n[ipv6]\nmode = slaac\ndhcpv6_queue =\n", []QueueSpec{{responder.KindRS, 43}, {responder.KindNS, 44}}},
		{"[dhcp]\ndhcp_queue =\n[ipv6]\nrs_queue = 7\nns_queue=\ndhcpv6_queue=\n", []QueueSpec{{responder.KindRS, 7}}},
		{"[ipv6]\nenable_dhcpv6 = yes\ndhcp_queue = 0\n", []QueueSpec{{responder.KindDHCPv4, 42}, {responder.KindRS, 43}, {responder.KindNS, 44}, {responder.KindDHCPv6, 0}}},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.conf), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%q: %v", tt.conf, err)
		}
		if diff := cmp.Diff(tt.want, c.Queues()); diff != "" {
			t.Errorf("%q: queues (-want +got):\n%s", tt.conf, diff)
		}
	}
}

func TestResponderOptions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "good", "original.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := responder.Options{
		LeaseTime:    604800 * time.Second,
		RenewalTime:  time.Hour,
		ServerIP:     netip.MustParseAddr("192.0.2.1"),
		Nameservers:  addrs("192.0.2.2", "192.0.2.3"),
		Domain:       "example.com",
		IPv6:         true,
		Mode:         responder.ModeSLAACDHCPv6,
		RAPeriod:     300 * time.Second,
		Nameservers6: addrs("2001:db8:100::1", "2001:db8:200::2"),
		Domains6:     []string{"example.com"},
		RateLimit:    responder.RateLimit{PerSecond: responder.DefaultRatePerSecond, Burst: responder.DefaultRateBurst},
	}
	if diff := cmp.Diff(want, c.ResponderOptions(), equateNetIP); diff != "" {
		t.Errorf("ResponderOptions (-want +got):\n%s", diff)
	}
}
