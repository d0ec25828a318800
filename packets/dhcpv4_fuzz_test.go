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

// dhcpv4FuzzSeeds returns the captured requests.
func dhcpv4FuzzSeeds(f *testing.F) [][]byte {
	paths, err := filepath.Glob("../fixtures/dhcpv4/*.bin")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed fixtures (err %v)", err)
	}
	var seeds [][]byte
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzDecodeDHCPv4 checks that decoding never panics and that whatever
// decodes can be answered: the OFFER built for it parses back (through this
// package's own IPv4/UDP checks, then the DHCP library) with the request's
// transaction id and hardware address, within the client's size limit.
func FuzzDecodeDHCPv4(f *testing.F) {
	for _, b := range dhcpv4FuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(dhcpv4CheckAnswerable)
}

// FuzzDHCPv4Message is FuzzDecodeDHCPv4 with the mutations confined to the
// DHCP message: the fuzzer's bytes are wrapped in valid IPv4 and UDP
// headers, so that they reach the option parser and the reply builder
// instead of mostly failing the length checks of the headers.
func FuzzDHCPv4Message(f *testing.F) {
	for _, b := range dhcpv4FuzzSeeds(f) {
		f.Add(b[v4HeaderMinLen+v4UDPHeaderLen:])
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1500 {
			t.Skip("longer than an Ethernet MTU")
		}
		frame := appendV4UDPFrame(nil, &v4UDPFrame{
			srcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, dstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2},
			srcIP: netip.IPv4Unspecified(), dstIP: netip.AddrFrom4([4]byte{255, 255, 255, 255}),
			srcPort: dhcpv4ClientPort, dstPort: dhcpv4ServerPort,
		}, msg)
		dhcpv4CheckAnswerable(t, frame[v4EthernetHeaderLen:])
	})
}

// dhcpv4CheckAnswerable decodes packet and, when it decodes, checks that an
// OFFER can be built for it and parses back.
func dhcpv4CheckAnswerable(t *testing.T, packet []byte) {
	req, err := DecodeDHCPv4(packet)
	if err != nil {
		if !errors.Is(err, errMalformed) && !errors.Is(err, errUnsupported) {
			t.Fatalf("decode error %q wraps no sentinel", err)
		}
		return
	}
	frame, err := BuildDHCPv4Reply(req, dhcpv4.MessageTypeOffer, dhcpv4FuzzLease())
	if err != nil {
		// Only a request whose echoed options (client identifier, relay
		// information) are too long for the reply may fail.
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
}
