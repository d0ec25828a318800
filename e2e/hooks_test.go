package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// contribDir is where the shipped hooks and rules live, from e2e/.
const contribDir = "../contrib"

// hookSetup is what the hook tests share: the daemon binary (the hooks call
// `nfdhcpd bind`), a configuration and its empty data directory.
type hookSetup struct {
	bin, conf, datapath string
}

func newHookSetup(t *testing.T) hookSetup {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		netnstest.MissingPrerequisite(t, "no daemon binary (%s unset): need root, or CI=true, to build it", binEnv)
	}
	for _, c := range []string{"sh", "awk"} {
		if _, err := exec.LookPath(c); err != nil {
			netnstest.MissingPrerequisite(t, "need command %q: %v", c, err)
		}
	}
	dir := t.TempDir()
	s := hookSetup{bin: bin, conf: filepath.Join(dir, "nfdhcpd.conf"), datapath: filepath.Join(dir, "bindings")}
	if err := os.Mkdir(s.datapath, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.conf, []byte(fmt.Sprintf("[general]\ndatapath = %s\n", s.datapath)), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// env returns the clean environment a hypervisor gives its hooks (Ganeti
// clears the environment), plus the hooks' own settings and vars.
func (s hookSetup) env(vars map[string]string) []string {
	env := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"NFDHCPD=" + s.bin,
		"NFDHCPD_CONFIG=" + s.conf,
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// bindingValues parses the binding file of tap and returns its values as
// the daemon understands them, or nil when there is no file.
func (s hookSetup) bindingValues(t *testing.T, tap string) map[string]string {
	t.Helper()
	path := filepath.Join(s.datapath, tap)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	b, err := binding.ParseFile(path)
	if err != nil {
		t.Fatalf("the hook wrote a binding the daemon refuses: %v", err)
	}
	return b.Values()
}

// runHook runs a contrib hook with args, environment and standard input,
// inside ns when it is not nil, and returns its combined output.
func runHook(t *testing.T, ns *Netns, env []string, stdin string, hook string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{"sh", filepath.Join(contribDir, hook)}, args...)
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(ctx, argv...)
	} else {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	}
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestGanetiHooks runs kvm-ifup-custom and kvm-ifdown-custom in a
// hypervisor namespace with a real TAP and bridge, with the environment
// Ganeti gives them, and checks the TAP's link setup and its binding file.
func TestGanetiHooks(t *testing.T) {
	requirePrereqs(t)
	const mac = "aa:00:00:4e:6f:01"
	nic := map[string]string{
		"INSTANCE":         "web1.example.org",
		"MAC":              mac,
		"IP":               "192.0.2.10",
		"NETWORK_SUBNET":   "192.0.2.0/24",
		"NETWORK_GATEWAY":  "192.0.2.1",
		"NETWORK_SUBNET6":  "2001:db8:1::/64",
		"NETWORK_GATEWAY6": "2001:db8:1::1",
		"NETWORK_TAGS":     "nfdhcpd ipv6",
		"TAGS":             "owner:alice role:web",
	}
	withNIC := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range nic {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	common := map[string]string{
		"MAC":      mac,
		"IP":       "192.0.2.10",
		"HOSTNAME": "web1.example.org",
		"SUBNET":   "192.0.2.0/24",
		"GATEWAY":  "192.0.2.1",
		"SUBNET6":  "2001:db8:1::/64",
		"GATEWAY6": "2001:db8:1::1",
		"EUI64":    "2001:db8:1:0:a800:ff:fe4e:6f01",
		"TAGS":     "owner:alice role:web",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		vars       map[string]string
		args       []string
		want       map[string]string // binding values; nil: no binding file
		wantMaster string            // the TAP's bridge after ifup
		wantMAC    string            // the TAP's MAC after ifup ("unchanged"; "": not checked)
	}{
		{
			name: "routed",
			vars: withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "routed", "LINK": "100"}),
			want: with(map[string]string{"TABLE": "100"}),
		},
		{
			name:    "routed, fixed TAP MAC",
			vars:    withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "routed", "LINK": "100", "NFDHCPD_TAP_MAC": "fe:ff:ff:ff:ff:ff"}),
			want:    with(map[string]string{"TABLE": "100"}),
			wantMAC: "fe:ff:ff:ff:ff:ff",
		},
		{
			name:       "bridged, fixed TAP MAC ignored",
			vars:       withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "bridged", "LINK": "br0", "NFDHCPD_TAP_MAC": "fe:ff:ff:ff:ff:ff"}),
			want:       with(map[string]string{"INDEV": "br0"}),
			wantMaster: "br0",
			wantMAC:    "unchanged",
		},
		{
			name:       "bridged",
			vars:       withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "bridged", "LINK": "br0"}),
			want:       with(map[string]string{"INDEV": "br0"}),
			wantMaster: "br0",
		},
		{
			name:       "bridged, TAP as argument, BRIDGE given",
			vars:       withNIC(map[string]string{"MODE": "bridged", "LINK": "br9", "BRIDGE": "br0"}),
			args:       []string{"tap0"},
			want:       with(map[string]string{"INDEV": "br0"}),
			wantMaster: "br0",
		},
		{
			name: "IPv6-only NIC",
			vars: map[string]string{"INTERFACE": "tap0", "MODE": "routed", "LINK": "100", "MAC": mac,
				"INSTANCE": "v6only", "NETWORK_SUBNET6": "2001:db8:1::/64"},
			want: map[string]string{"MAC": mac, "HOSTNAME": "v6only", "SUBNET6": "2001:db8:1::/64",
				"EUI64": "2001:db8:1:0:a800:ff:fe4e:6f01", "TABLE": "100"},
		},
		{
			name: "tag required and present",
			vars: withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "routed", "LINK": "100", "NFDHCPD_TAG": "nfdhcpd"}),
			want: with(map[string]string{"TABLE": "100"}),
		},
		{
			name: "tag required and absent",
			vars: withNIC(map[string]string{"INTERFACE": "tap0", "MODE": "routed", "LINK": "100", "NFDHCPD_TAG": "dhcp-here"}),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHookSetup(t)
			hv := newNetns(t, "hook")
			hv.Run(t, "ip", "tuntap", "add", "tap0", "mode", "tap")
			tapMAC := linkMAC(t, hv, "tap0").String()
			hv.Run(t, "ip", "link", "add", "br0", "type", "bridge")
			// A stale binding of an earlier VM on the same TAP name must not
			// survive the new VM's ifup.
			if err := os.WriteFile(filepath.Join(s.datapath, "tap0"), []byte("MAC=aa:00:00:00:00:99\nIP=198.51.100.99\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			out, err := runHook(t, hv, s.env(tt.vars), "", "ganeti/kvm-ifup-custom", tt.args...)
			if err != nil {
				t.Fatalf("kvm-ifup-custom: %v: %s", err, out)
			}
			if diff := cmp.Diff(tt.want, s.bindingValues(t, "tap0")); diff != "" {
				t.Errorf("binding after ifup (-want +got):\n%s", diff)
			}
			// IFF_UP is bit 0 of the interface flags.
			var flags int
			raw := strings.TrimSpace(hv.Run(t, "cat", "/sys/class/net/tap0/flags"))
			if _, err := fmt.Sscanf(raw, "0x%x", &flags); err != nil || flags&1 == 0 {
				t.Errorf("tap0 is not up after ifup (flags %s)", raw)
			}
			switch got := linkMAC(t, hv, "tap0").String(); {
			case tt.wantMAC == "unchanged" && got != tapMAC:
				t.Errorf("tap0 MAC changed from %s to %s, want it left alone", tapMAC, got)
			case tt.wantMAC != "" && tt.wantMAC != "unchanged" && got != tt.wantMAC:
				t.Errorf("tap0 MAC = %s, want %s", got, tt.wantMAC)
			}
			master, _ := hv.Try("readlink", "/sys/class/net/tap0/master")
			if got := filepath.Base(strings.TrimSpace(master)); tt.wantMaster != "" && got != tt.wantMaster {
				t.Errorf("tap0 master = %q, want %q", got, tt.wantMaster)
			}

			out, err = runHook(t, hv, s.env(tt.vars), "", "ganeti/kvm-ifdown-custom", tt.args...)
			if err != nil {
				t.Fatalf("kvm-ifdown-custom: %v: %s", err, out)
			}
			if got := s.bindingValues(t, "tap0"); got != nil {
				t.Errorf("binding after ifdown = %v, want none", got)
			}
		})
	}
}

// TestGanetiHookRefusesBadNIC checks that a NIC the daemon would refuse
// makes ifup fail (Ganeti then reports the error) and writes nothing.
func TestGanetiHookRefusesBadNIC(t *testing.T) {
	s := newHookSetup(t)
	vars := map[string]string{"INTERFACE": "tap0", "MODE": "routed", "MAC": "aa:00:00:4e:6f:01",
		"IP": "198.51.100.7", "NETWORK_SUBNET": "192.0.2.0/24", "NFDHCPD_LINK_SETUP": "no"}
	out, err := runHook(t, nil, s.env(vars), "", "ganeti/kvm-ifup-custom")
	if err == nil {
		t.Fatalf("kvm-ifup-custom accepted an IP outside its subnet: %s", out)
	}
	if !strings.Contains(out, "198.51.100.7") {
		t.Errorf("ifup output %q does not name the bad IP", out)
	}
	if got := s.bindingValues(t, "tap0"); got != nil {
		t.Errorf("a refused NIC left a binding: %v", got)
	}
}

// libvirtDomain is the live domain XML libvirt hands the qemu hook, in
// libvirt's own formatting, with the nfdhcpd metadata of two of its NICs.
const libvirtDomain = `<domain type='kvm' id='7'>
  <name>db2</name>
  <uuid>6a0b8c3e-1f0f-4d7e-9a64-0c5c8a4f1b2d</uuid>
  <metadata>
    <nfdhcpd:nics xmlns:nfdhcpd="urn:x-nfdhcpd:libvirt:1">
      <nfdhcpd:nic mac="52:54:00:AB:CD:01" ip="192.0.2.20" subnet="192.0.2.0/24" gateway="192.0.2.1" subnet6="2001:db8:2::/64" tags="tier=db &amp; backup"/>
      <nfdhcpd:nic mac="52:54:00:ab:cd:02" ip="198.51.100.20" subnet="198.51.100.0/24" hostname="db2-routed" table="200" private="yes"/>
    </nfdhcpd:nics>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <mac address='52:54:00:ab:cd:01'/>
      <source bridge='br0'/>
      <target dev='vnet3'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <interface type='ethernet'>
      <mac address='52:54:00:ab:cd:02'/>
      <target dev='vnet4' managed='no'/>
      <model type='virtio'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:ab:cd:03'/>
      <source network='default' bridge='virbr0'/>
      <target dev='vnet5'/>
    </interface>
  </devices>
</domain>
`

// TestLibvirtHook runs the qemu hook as libvirtd does (guest name,
// operation, sub-operation, extra; the domain XML on stdin) and checks the
// binding files of the guest's NICs.
func TestLibvirtHook(t *testing.T) {
	s := newHookSetup(t)
	env := s.env(nil)
	run := func(op, subop string) {
		t.Helper()
		out, err := runHook(t, nil, env, libvirtDomain, "libvirt/qemu", "db2", op, subop, "-")
		if err != nil {
			t.Fatalf("qemu hook %s: %v: %s", op, err, out)
		}
	}
	files := func() []string {
		entries, err := os.ReadDir(s.datapath)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	run("prepare", "begin")
	if got := files(); len(got) != 0 {
		t.Fatalf("prepare wrote bindings %v, want none", got)
	}

	run("started", "begin")
	want := map[string]map[string]string{
		"vnet3": {
			"INDEV": "br0", "MAC": "52:54:00:ab:cd:01", "HOSTNAME": "db2", "IP": "192.0.2.20",
			"SUBNET": "192.0.2.0/24", "GATEWAY": "192.0.2.1", "SUBNET6": "2001:db8:2::/64",
			"EUI64": "2001:db8:2:0:5054:ff:feab:cd01", "TAGS": "tier=db & backup",
		},
		"vnet4": {
			"MAC": "52:54:00:ab:cd:02", "HOSTNAME": "db2-routed", "IP": "198.51.100.20",
			"SUBNET": "198.51.100.0/24", "TABLE": "200", "PRIVATE": "yes",
		},
	}
	got := map[string]map[string]string{}
	for _, name := range files() {
		got[name] = s.bindingValues(t, name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings after started (-want +got):\n%s", diff)
	}

	run("stopped", "end")
	if got := files(); len(got) != 0 {
		t.Errorf("bindings after stopped: %v, want none", got)
	}
	run("release", "end") // a second removal still succeeds
}
