package packets

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// dhcpv4FuzzLease is a lease with every option, so that the fuzzed requests'
// parameter request lists and size limits have something to choose from.
func dhcpv4FuzzLease() *DHCPv4Lease {
	return &DHCPv4Lease{
		ServerMAC:     net.HardwareAddr{2, 0, 0, 0, 0, 1},
		ServerIP:      netip.MustParseAddr("198.51.100.1"),
		ClientIP:      netip.MustParseAddr("192.0.2.10"),
		Subnet:        netip.MustParsePrefix("192.0.2.10/32"),
		Router:        netip.MustParseAddr("198.51.100.1"),
		Nameservers:   []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		Domain:        "example.org",
		Hostname:      "vm1",
		MTU:           1450,
		LeaseTime:     time.Hour,
		RenewalTime:   10 * time.Minute,
		RebindingTime: 50 * time.Minute,
	}
}

// FuzzDecodeDHCPv4 checks that decoding never panics and that whatever
// decodes can be answered: the OFFER built for it parses back (through this
// package's own IPv4/UDP checks, then the DHCP library) with the request's
// transaction id and hardware address, within the client's size limit.
func FuzzDecodeDHCPv4(f *testing.F) {
	seeds, err := filepath.Glob("../fixtures/dhcpv4/*.bin")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed fixtures (err %v)", err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, packet []byte) {
		req, err := DecodeDHCPv4(packet)
		if err != nil {
			if !errors.Is(err, errMalformed) && !errors.Is(err, errUnsupported) {
				t.Fatalf("decode error %q wraps no sentinel", err)
			}
			return
		}
		frame, err := BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, dhcpv4FuzzLease())
		if err != nil {
			// Only a request whose echoed options (client identifier,
			// relay information) are too long for the reply may fail.
			echoed := len(req.Options.Get(dhcpv4.OptionClientIdentifier)) + len(req.Options.Get(dhcpv4.OptionRelayAgentInformation))
			if !errors.Is(err, errInvalidParams) || echoed < 200 {
				t.Fatalf("cannot answer a decoded request (echoing %d bytes): %v", echoed, err)
			}
			return
		}
		if len(frame) < v4EthernetHeaderLen {
			t.Fatalf("frame of %d bytes", len(frame))
		}
		if limit := dhcpv4MaxReplyLen(req) + dhcpv4IPUDPOverhead; len(frame)-v4EthernetHeaderLen > limit {
			t.Errorf("IP datagram of %d bytes exceeds the client's %d", len(frame)-v4EthernetHeaderLen, limit)
		}
		if dst := net.HardwareAddr(frame[:6]); !bytes.Equal(dst, req.ClientHWAddr) && dst.String() != "ff:ff:ff:ff:ff:ff" {
			t.Errorf("frame to %s, want the client %s or broadcast", dst, req.ClientHWAddr)
		}
		payload, err := v4UDPPayload(frame[v4EthernetHeaderLen:], dhcpv4ClientPort)
		if err != nil {
			t.Fatalf("built frame does not parse back: %v", err)
		}
		reply, err := dhcpv4.FromBytes(payload)
		if err != nil {
			t.Fatalf("built DHCP message does not parse back: %v", err)
		}
		if reply.TransactionID != req.TransactionID || !bytes.Equal(reply.ClientHWAddr, req.ClientHWAddr) {
			t.Errorf("reply xid %s chaddr %s, want %s %s", reply.TransactionID, reply.ClientHWAddr, req.TransactionID, req.ClientHWAddr)
		}
		if reply.OpCode != dhcpv4.OpcodeBootReply || reply.MessageType() != dhcpv4.MessageTypeOffer {
			t.Errorf("reply is %s %s, want a BOOTREPLY OFFER", reply.OpCode, reply.MessageType())
		}
	})
}
