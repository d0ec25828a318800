package packets_test

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
	"github.com/nfdhcpd/nfdhcpd/profile"
)

var update = flag.Bool("update", false, "rewrite the golden reply frames under fixtures/")

// TestDHCPv4Golden answers every captured request with the fixed testLease
// and compares the frame byte for byte with its golden file. REQUESTs are
// answered twice: with an ACK and with a NAK; DISCOVERs are also answered
// with routedLease, whose router lies outside the client's /32.
func TestDHCPv4Golden(t *testing.T) {
	goldenDir := filepath.Join(dhcpv4FixtureDir, "golden")
	for _, name := range dhcpv4FixtureNames(t) {
		req, err := packets.DecodeDHCPv4(readDHCPv4Fixture(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		type reply struct {
			typ   dhcpv4.MessageType
			lease *packets.DHCPv4Lease
		}
		replies := map[string]reply{}
		switch req.MessageType() {
		case dhcpv4.MessageTypeDiscover:
			replies["offer"] = reply{dhcpv4.MessageTypeOffer, testLease()}
			replies["offer-routed32"] = reply{dhcpv4.MessageTypeOffer, routedLease()}
			replies["offer-profile"] = reply{dhcpv4.MessageTypeOffer, profileLease()}
		case dhcpv4.MessageTypeRequest:
			replies["ack"] = reply{dhcpv4.MessageTypeAck, testLease()}
			replies["ack-profile"] = reply{dhcpv4.MessageTypeAck, profileLease()}
			replies["nak"] = reply{dhcpv4.MessageTypeNak, testLease()}
		case dhcpv4.MessageTypeInform:
			replies["ack"] = reply{dhcpv4.MessageTypeAck, testLease()}
		default:
			t.Fatalf("%s: no golden reply for a %s", name, req.MessageType())
		}
		for suffix, r := range replies {
			golden := strings.TrimSuffix(name, ".bin") + "-" + suffix + ".frame"
			t.Run(golden, func(t *testing.T) {
				frame, err := packets.BuildDHCPv4Reply(req, r.typ, r.lease)
				if err != nil {
					t.Fatalf("BuildDHCPv4Reply: %v", err)
				}
				// Whatever the golden file says, the frame must be one
				// gopacket agrees with.
				summarizeReply(t, frame)
				path := filepath.Join(goldenDir, golden)
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, frame, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("reading golden frame (regenerate with -update): %v", err)
				}
				if !bytes.Equal(want, frame) {
					t.Errorf("frame differs from %s (regenerate with -update only if intended):\n got  %x\n want %x", path, frame, want)
				}
			})
		}
	}
}

// routedLease is testLease in the /32 addressing of a routed setup: the
// router is outside the client's subnet and also the server identifier.
func routedLease() *packets.DHCPv4Lease {
	l := testLease()
	l.Subnet = netip.MustParsePrefix("192.0.2.10/32")
	l.Router = netip.MustParseAddr("198.51.100.1")
	l.ServerIP = l.Router
	return l
}

// profileLease is testLease with a binding that uses every profile key:
// the maximal binding of the golden frames.
func profileLease() *packets.DHCPv4Lease {
	l := testLease()
	var p profile.Profile
	for key, value := range map[string]string{
		profile.KeyNTP:         "192.0.2.123, 198.51.100.123",
		profile.KeySearch:      "tenant.example, eng.tenant.example, example.org",
		profile.KeyRoutes:      "169.254.169.254/32 via 192.0.2.1, 10.0.0.0/8 via 192.0.2.254",
		profile.KeyDHCPOptions: "252:text:http://192.0.2.1/wpad.dat, 23:u8:64",
	} {
		if reason := p.Set(key, value); reason != "" {
			panic(key + ": " + reason)
		}
	}
	l.Hostname = "vm1.tenant.example"
	l.Domain = "tenant.example"
	l.NTP = p.NTP
	l.DomainSearch = p.Search.Wire
	l.Routes = p.Routes
	l.NextServer = netip.MustParseAddr("192.0.2.5")
	l.TFTPServer = "192.0.2.5"
	l.Bootfile = "pxelinux.0"
	l.IPv6OnlyWait = 1800 * time.Second
	l.Extra = p.DHCPOptions
	return l
}
