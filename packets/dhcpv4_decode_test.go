package packets_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

// A requestSummary is what a test checks of a decoded request.
type requestSummary struct {
	Type      string
	ClientMAC string
	Broadcast bool
	CIAddr    string
	Requested string
	ServerID  string
}

func TestDecodeDHCPv4Fixtures(t *testing.T) {
	mac := "52:54:00:12:34:56"
	tests := []struct {
		file string
		want requestSummary
	}{
		{"udhcpc-discover.bin", requestSummary{Type: "DISCOVER", ClientMAC: mac, Broadcast: true, CIAddr: "0.0.0.0"}},
		{"udhcpc-request.bin", requestSummary{Type: "REQUEST", ClientMAC: mac, Broadcast: true, CIAddr: "0.0.0.0", Requested: "192.0.2.x", ServerID: "192.0.2.1"}},
		{"dhclient-discover.bin", requestSummary{Type: "DISCOVER", ClientMAC: mac, CIAddr: "0.0.0.0"}},
		{"dhclient-request.bin", requestSummary{Type: "REQUEST", ClientMAC: mac, CIAddr: "0.0.0.0", Requested: "192.0.2.x", ServerID: "192.0.2.1"}},
		{"dhcpcd-discover.bin", requestSummary{Type: "DISCOVER", ClientMAC: mac, CIAddr: "0.0.0.0"}},
		{"dhcpcd-request.bin", requestSummary{Type: "REQUEST", ClientMAC: mac, CIAddr: "0.0.0.0", Requested: "192.0.2.x", ServerID: "192.0.2.1"}},
		{"dhcpcd-reboot-request.bin", requestSummary{Type: "REQUEST", ClientMAC: mac, CIAddr: "0.0.0.0", Requested: "192.0.2.x"}},
		{"dhcpcd-inform.bin", requestSummary{Type: "INFORM", ClientMAC: mac, CIAddr: "192.0.2.x"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			m, err := packets.DecodeDHCPv4(readDHCPv4Fixture(t, tt.file))
			if err != nil {
				t.Fatalf("DecodeDHCPv4: %v", err)
			}
			got := requestSummary{
				Type: m.MessageType().String(), ClientMAC: m.ClientHWAddr.String(),
				Broadcast: m.IsBroadcast(), CIAddr: m.ClientIPAddr.String(),
			}
			// The capture server's pool decides the exact addresses.
			if strings.HasPrefix(got.CIAddr, "192.0.2.") {
				got.CIAddr = "192.0.2.x"
			}
			if ip := m.RequestedIPAddress(); ip != nil {
				got.Requested = ip.String()
				if strings.HasPrefix(got.Requested, "192.0.2.") {
					got.Requested = "192.0.2.x"
				}
			}
			if ip := m.ServerIdentifier(); ip != nil {
				got.ServerID = ip.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded request (-want +got):\n%s", diff)
			}
		})
	}
	for _, name := range dhcpv4FixtureNames(t) {
		if !seen[name] {
			t.Errorf("fixture %s has no expectation here", name)
		}
	}
}

// breakDHCPv4 returns a copy of the captured dhclient DISCOVER with one
// thing broken by f. The offsets are those of an IPv4 header without
// options (IHL 5), which the capture has.
func breakDHCPv4(t *testing.T, f func([]byte) []byte) []byte {
	t.Helper()
	b := readDHCPv4Fixture(t, "dhclient-discover.bin")
	if b[0] != 0x45 {
		t.Fatalf("fixture has IPv4 options (first byte %#x): the offsets below assume none", b[0])
	}
	return f(append([]byte(nil), b...))
}

// Offsets inside the dhclient DISCOVER: IPv4 header at 0, UDP at 20, the
// DHCP message at 28, its options after the magic cookie at 28+236+4.
const (
	udpOff     = 20
	dhcpOff    = 28
	optionsOff = dhcpOff + 240
)

func TestDecodeDHCPv4Refuses(t *testing.T) {
	be := binary.BigEndian
	tests := []struct {
		name        string
		packet      func(t *testing.T) []byte
		malformed   bool // else unsupported
		errContains string
	}{
		{"empty", func(*testing.T) []byte { return nil }, true, "shorter than a header"},
		{"truncated IP header", func(t *testing.T) []byte { return breakDHCPv4(t, func(b []byte) []byte { return b[:19] }) }, true, "shorter than a header"},
		{"IPv6 version", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[0] = 0x65; return b })
		}, true, "IP version 6"},
		{"header length below 20", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[0] = 0x44; return b })
		}, true, "header length 16"},
		{"header length beyond total", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[0] = 0x4f; be.PutUint16(b[2:], 40); return b[:40] })
		}, true, "total length 40"},
		{"total length beyond buffer", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { return b[:len(b)-1] })
		}, true, "total length"},
		{"more fragments", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[6] |= 0x20; return b })
		}, false, "fragment"},
		{"later fragment", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[7] = 1; return b })
		}, false, "fragment"},
		{"TCP", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[9] = 6; return b })
		}, false, "protocol 6"},
		{"UDP header cut by total length", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { be.PutUint16(b[2:], 24); return b })
		}, true, "UDP datagram of 4 bytes"},
		{"to the client port", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { be.PutUint16(b[udpOff+2:], 68); return b })
		}, false, "destination port 68"},
		{"UDP length below header", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { be.PutUint16(b[udpOff+4:], 7); return b })
		}, true, "UDP length 7"},
		{"UDP length beyond IP", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { be.PutUint16(b[udpOff+4:], uint16(len(b))); return b })
		}, true, "UDP length"},
		{"DHCP message cut short", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { be.PutUint16(b[udpOff+4:], 8+100); return b })
		}, true, "DHCPv4 message"},
		{"bad magic cookie", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[optionsOff-1] ^= 0xff; return b })
		}, true, "magic cookie"},
		{"BOOTREPLY", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[dhcpOff] = 2; return b })
		}, true, "not BOOTREQUEST"},
		{"token ring", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[dhcpOff+1] = 6; return b })
		}, false, "hardware type 6"},
		{"16-byte hardware address", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[dhcpOff+2] = 16; return b })
		}, false, "length 16"},
		{"no message type", func(t *testing.T) []byte {
			// dhclient puts option 53 first: turn it into a pad and an
			// unknown option 0xfe of length 1.
			return breakDHCPv4(t, func(b []byte) []byte {
				if b[optionsOff] != 53 {
					t.Fatalf("option 53 is not first in the fixture")
				}
				b[optionsOff] = 0xfe
				return b
			})
		}, true, "without a valid message type"},
		{"message type zero", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte { b[optionsOff+2] = 0; return b })
		}, true, "without a valid message type"},
		{"no end option", func(t *testing.T) []byte {
			return breakDHCPv4(t, func(b []byte) []byte {
				for i := optionsOff; i < len(b); i++ {
					if b[i] == 0xff {
						b[i] = 0
					}
				}
				return b
			})
		}, true, "DHCPv4 message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := packets.DecodeDHCPv4(tt.packet(t))
			if err == nil {
				t.Fatalf("DecodeDHCPv4 accepted it: %v", m)
			}
			if got := packets.IsMalformed(err); got != tt.malformed {
				t.Errorf("IsMalformed(%q) = %v, want %v", err, got, tt.malformed)
			}
			if got := packets.IsUnsupported(err); got == tt.malformed {
				t.Errorf("IsUnsupported(%q) = %v, want %v", err, got, !tt.malformed)
			}
			if !strings.HasPrefix(err.Error(), "packets: ") || !strings.Contains(err.Error(), tt.errContains) {
				t.Errorf("error %q, want the packets: prefix and %q", err, tt.errContains)
			}
		})
	}
}

// TestDecodeDHCPv4IgnoresTrailingBytes checks that bytes after the IPv4
// total length (link-layer padding) and after the UDP length are not part
// of the message.
func TestDecodeDHCPv4IgnoresTrailingBytes(t *testing.T) {
	b := append(readDHCPv4Fixture(t, "dhcpcd-discover.bin"), 0xde, 0xad)
	if _, err := packets.DecodeDHCPv4(b); err != nil {
		t.Errorf("trailing bytes after the datagram: %v", err)
	}
}
