package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

func TestRoutingModuleConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rt_tables"), []byte("500 routed_net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	section := Routing{
		Enable: true, Role: RoleVMC, Table: "routed_net", Uplink: "eth0.500", Uplink6: "eth0.500",
		Subnet: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"),
		ARPIP: netip.MustParseAddr("192.0.2.254"), WAN: "", Antispoof: true,
	}
	got, err := section.ModuleConfig(dir)
	if err != nil {
		t.Fatalf("ModuleConfig: %v", err)
	}
	want := routing.Config{
		Role: routing.RoleVMC, Table: "routed_net", Uplink: "eth0.500", Uplink6: "eth0.500",
		Subnet: section.Subnet, Gateway: section.Gateway, ARPIP: section.ARPIP, Antispoof: true,
		Tables: routing.TableNames{"routed_net": 500},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ModuleConfig (-want +got):\n%s", diff)
	}

	for name, modify := range map[string]func(*Routing){
		"unknown table name": func(c *Routing) { c.Table = "nosuch" },
		"unknown role":       func(c *Routing) { c.Role = "router" },
		"no uplink":          func(c *Routing) { c.Uplink, c.Uplink6 = "", "" },
	} {
		bad := section
		modify(&bad)
		if _, err := bad.ModuleConfig(dir); err == nil {
			t.Errorf("%s: ModuleConfig accepted %+v", name, bad)
		}
	}
}
