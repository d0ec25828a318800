package routing_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    routing.Role
		wantErr bool
	}{
		{"", routing.RoleNone, false},
		{"none", routing.RoleNone, false},
		{"VMC", routing.RoleVMC, false},
		{" gateway ", routing.RoleGateway, false},
		{"vmc+gateway", routing.RoleVMCGateway, false},
		{"router", "", true},
	}
	for _, tt := range tests {
		got, err := routing.ParseRole(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadTableNames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rt_tables", "#\n# reserved values\n255\tlocal\n254\tmain\n500 routed_net # the VMs\n")
	write("rt_tables.d/a.conf", "0x259 hexed\n")
	write("rt_tables.d/b.conf", "700 routed_net\n")
	write("rt_tables.d/ignored.txt", "garbage line here\n")
	got, err := routing.ReadTableNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := routing.TableNames{"local": 255, "main": 254, "routed_net": 700, "hexed": 0x259}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadTableNames (-want +got):\n%s", diff)
	}

	write("rt_tables.d/c.conf", "500 two names\n")
	if _, err := routing.ReadTableNames(dir); err == nil {
		t.Errorf("ReadTableNames accepted a line with three fields")
	}
	empty, err := routing.ReadTableNames(filepath.Join(dir, "missing"))
	if err != nil || len(empty) != 0 {
		t.Errorf("ReadTableNames of a missing dir = %v, %v; want empty, nil", empty, err)
	}
}

func TestResolveTable(t *testing.T) {
	names := routing.TableNames{"routed_net": 500}
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"500", 500, false},
		{"0x1f4", 500, false},
		{"routed_net", 500, false},
		{"main", 254, false},
		{"unknown", 0, true},
		{"0", 0, true},
		{"unspec", 0, true},
		{"-3", 0, true},
	}
	for _, tt := range tests {
		got, err := names.Resolve(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Resolve(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseAnnounce(t *testing.T) {
	for in, want := range map[string]routing.Announce{"": routing.AnnounceProxy, "proxy": routing.AnnounceProxy, " BGP ": routing.AnnounceBGP} {
		if got, err := routing.ParseAnnounce(in); err != nil || got != want {
			t.Errorf("ParseAnnounce(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := routing.ParseAnnounce("ospf"); err == nil {
		t.Errorf("ParseAnnounce(ospf) = %q, want an error", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*routing.Config)
		wantErr bool
	}{
		{"the seed's VMC", func(*routing.Config) {}, false},
		{"defaults", func(c *routing.Config) { *c = routing.DefaultConfig() }, false},
		{"unknown role", func(c *routing.Config) { c.Role = "router" }, true},
		{"unknown table", func(c *routing.Config) { c.Table = "nope" }, true},
		{"no uplink", func(c *routing.Config) { c.Uplink = "" }, true},
		{"IPv6 subnet as subnet", func(c *routing.Config) { c.Subnet = netip.MustParsePrefix("2001:db8::/64") }, true},
		{"IPv4 gateway6", func(c *routing.Config) { c.Gateway6 = netip.MustParseAddr("192.0.2.1") }, true},
		{"IPv6 arp_ip", func(c *routing.Config) { c.ARPIP = netip.MustParseAddr("2001:db8::1") }, true},
		{"gateway role without gateway", func(c *routing.Config) {
			c.Role = routing.RoleGateway
			c.Gateway = netip.Addr{}
		}, true},
		{"unknown announce", func(c *routing.Config) { c.Announce = "ospf" }, true},
		{"bgp VMC with gateways outside the subnets", func(c *routing.Config) {
			c.Announce = routing.AnnounceBGP
			c.Gateway = netip.MustParseAddr("198.51.100.0")
			c.Gateway6 = netip.MustParseAddr("2001:db8:ff::2")
		}, false},
		{"bgp with vmc+gateway", func(c *routing.Config) {
			c.Announce = routing.AnnounceBGP
			c.Role = routing.RoleVMCGateway
		}, true},
		{"no subnets", func(c *routing.Config) {
			c.Subnet = netip.Prefix{}
			c.Subnet6 = netip.Prefix{}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := vmcConfig()
			tt.modify(&cfg)
			if err := cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
