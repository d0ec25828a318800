package packets_test

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/packets"
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
		case dhcpv4.MessageTypeRequest:
			replies["ack"] = reply{dhcpv4.MessageTypeAck, testLease()}
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
