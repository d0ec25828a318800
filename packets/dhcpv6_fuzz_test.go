package packets_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/nfdhcpd/nfdhcpd/packets"
)

func FuzzDecodeDHCPv6(f *testing.F) {
	v6FuzzSeeds(f, "dh*-[a-mo-z]*.bin") // the DHCPv6 captures, not dhcpcd-ns*/rs
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := packets.DecodeDHCPv6(in)
		if err != nil {
			if !packets.IsMalformed(err) && !packets.IsUnsupported(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Round trip: the message re-encoded in a fresh datagram decodes to
		// the same bytes.
		data := req.Msg.ToBytes()
		udp := make([]byte, 8, 8+len(data))
		binary.BigEndian.PutUint16(udp[0:2], 546)
		binary.BigEndian.PutUint16(udp[2:4], 547)
		binary.BigEndian.PutUint16(udp[4:6], uint16(8+len(data)))
		udp = append(udp, data...)
		again, err := packets.DecodeDHCPv6(v6BuildPacket(req.Src, netip.MustParseAddr("ff02::1:2"), 1, 17, udp))
		if err != nil {
			t.Fatalf("decoding the re-encoded %s: %v", req.Msg.MessageType, err)
		}
		if again.Src != req.Src || !bytes.Equal(again.Msg.ToBytes(), data) {
			t.Fatalf("round trip changed the message:\nfirst  %x\nsecond %x", data, again.Msg.ToBytes())
		}
		// A binding that delegates a prefix answers IA_PD options too.
		pd := v6DHCPParams()
		pd.Delegated = []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/56")}
		if frame, err := packets.BuildDHCPv6Reply(req, pd); err == nil {
			if _, err := dhcpv6.MessageFromBytes(v6DecodeFrame(t, frame).Payload); err != nil {
				t.Fatalf("reply with IA_PD to %s does not decode: %v", req.Msg.MessageType, err)
			}
		} else if !packets.IsDHCPv6NoReply(err) {
			t.Fatalf("BuildDHCPv6Reply with IA_PD to %s: %v", req.Msg.Summary(), err)
		}
		frame, err := packets.BuildDHCPv6Reply(req, v6DHCPParams())
		if packets.IsDHCPv6NoReply(err) {
			return
		}
		if err != nil {
			t.Fatalf("BuildDHCPv6Reply to %s: %v", req.Msg.Summary(), err)
		}
		d := v6DecodeFrame(t, frame)
		reply, err := dhcpv6.MessageFromBytes(d.Payload)
		if err != nil {
			t.Fatalf("reply to %s does not decode: %v", req.Msg.MessageType, err)
		}
		if reply.TransactionID != req.Msg.TransactionID {
			t.Fatalf("reply transaction id %v, want %v", reply.TransactionID, req.Msg.TransactionID)
		}
	})
}
