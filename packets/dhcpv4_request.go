package packets

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Layout of a DHCPv4 message (RFC 2131 §2): the fixed BOOTP header, the
// magic cookie, then the options.
const (
	dhcpv4OffOp       = 0
	dhcpv4OffHType    = 1
	dhcpv4OffHLen     = 2
	dhcpv4OffXID      = 4
	dhcpv4OffFlags    = 10
	dhcpv4OffCIAddr   = 12
	dhcpv4OffGIAddr   = 24
	dhcpv4OffCHAddr   = 28
	dhcpv4OffCookie   = 236
	dhcpv4OffOptions  = 240
	dhcpv4BroadcastFl = 0x8000
	dhcpv4OptPad      = 0
	dhcpv4OptEnd      = 255
	// Request options the parser keeps (the reply's are in
	// dhcpv4_answer.go).
	dhcpv4OptRequestedIP      = 50
	dhcpv4OptParamRequestList = 55
	dhcpv4OptMaxMessageSize   = 57
)

// dhcpv4Cookie is the magic cookie in front of the options (RFC 2131 §3).
var dhcpv4Cookie = [4]byte{99, 130, 83, 99}

// A DHCPv4Request is what answering a DHCPv4 request needs of it: the
// header fields a reply copies and the few options the server reads.
// ParseDHCPv4 fills one without allocating; its byte slices share memory
// with the parsed packet. The zero value is an empty request.
type DHCPv4Request struct {
	// Type is the DHCP message type (option 53).
	Type dhcpv4.MessageType
	// ClientHWAddr is chaddr, the client's 6-byte Ethernet address.
	ClientHWAddr net.HardwareAddr
	// ClientIP is ciaddr, 0.0.0.0 when the client has no address.
	ClientIP netip.Addr
	// RequestedIP is the requested IP address option (50), invalid when
	// absent or not four bytes long.
	RequestedIP netip.Addr

	op, hwType     uint8
	xid            [4]byte
	flags          uint16
	giaddr         [4]byte
	maxMessageSize uint16 // option 57 when exactly two bytes, else 0
	// The options the reply looks at or copies, each the concatenation of
	// its instances (RFC 3396), nil when absent or empty as for the
	// library's Options.Get.
	paramRequestList, clientID, relayAgentInfo []byte
	clientArch, userClass                      []byte
}

// IsUEFI reports whether the client's architecture types (option 93, RFC
// 4578) name EFI x86-64 firmware: type 7 or 9 (RFC 5970's registry). A
// malformed option names nothing, as for the library's ClientArch.
func (r *DHCPv4Request) IsUEFI() bool {
	a := r.clientArch
	if len(a) == 0 || len(a)%2 != 0 {
		return false
	}
	for ; len(a) > 0; a = a[2:] {
		if t := binary.BigEndian.Uint16(a); t == uint16(iana.EFI_X86_64) || t == uint16(iana.EFI_BC) {
			return true
		}
	}
	return false
}

// ipxeUserClass is the user class iPXE sends (option 77).
const ipxeUserClass = "iPXE"

// IsIPXE reports whether the client is iPXE: its user class (option 77) is
// "iPXE", either as the raw text iPXE sends or as one of the RFC 3004
// length-prefixed classes. It reads the option as the library's UserClass
// does: as RFC 3004 classes when they parse, else as one raw text.
func (r *DHCPv4Request) IsIPXE() bool {
	uc := r.userClass
	if len(uc) == 0 {
		return false
	}
	found, wellFormed := false, true
	for rest := uc; len(rest) > 0; {
		n := int(rest[0])
		if n == 0 || 1+n > len(rest) {
			wellFormed = false
			break
		}
		found = found || string(rest[1:1+n]) == ipxeUserClass
		rest = rest[1+n:]
	}
	if wellFormed {
		return found
	}
	return string(uc) == ipxeUserClass
}

// IsBroadcast reports whether the client set the broadcast flag.
func (r *DHCPv4Request) IsBroadcast() bool { return r.flags&dhcpv4BroadcastFl != 0 }

// ParseDHCPv4 decodes the DHCPv4 request carried by ipPacket into req. It
// accepts and refuses exactly what DecodeDHCPv4 does, with errors wrapping
// the same sentinels, but reads the message by hand into a small struct
// instead of the library's option map: the DHCPv4 queue parses every
// request without allocating (repeated options, which real clients do not
// send, are concatenated into new memory).
func ParseDHCPv4(ipPacket []byte, req *DHCPv4Request) error {
	*req = DHCPv4Request{}
	msg, err := v4UDPPayload(ipPacket, dhcpv4ServerPort)
	if err != nil {
		return err
	}
	if len(msg) < dhcpv4OffOptions {
		return fmt.Errorf("packets: DHCPv4 message of %d bytes is shorter than its %d-byte header: %w", len(msg), dhcpv4OffOptions, errMalformed)
	}
	if [4]byte(msg[dhcpv4OffCookie:dhcpv4OffOptions]) != dhcpv4Cookie {
		return fmt.Errorf("packets: DHCPv4 magic cookie % x: %w", msg[dhcpv4OffCookie:dhcpv4OffOptions], errMalformed)
	}
	var opts dhcpv4Options
	if err := opts.walk(msg[dhcpv4OffOptions:]); err != nil {
		return err
	}
	msgType, requested, maxSize := opts.messageType, opts.requestedIP, opts.maxMessageSize
	req.paramRequestList, req.clientID, req.relayAgentInfo = opts.paramRequestList, opts.clientID, opts.relayAgentInfo
	req.clientArch, req.userClass = opts.clientArch, opts.userClass
	req.op = msg[dhcpv4OffOp]
	if req.op != uint8(dhcpv4.OpcodeBootRequest) {
		return fmt.Errorf("packets: DHCPv4 op %d is not BOOTREQUEST: %w", req.op, errMalformed)
	}
	req.hwType = msg[dhcpv4OffHType]
	if hlen := msg[dhcpv4OffHLen]; req.hwType != uint8(iana.HWTypeEthernet) || hlen != 6 {
		return fmt.Errorf("packets: DHCPv4 hardware type %d length %d is not Ethernet: %w", req.hwType, min(hlen, 16), errUnsupported)
	}
	if len(msgType) != 1 || msgType[0] == uint8(dhcpv4.MessageTypeNone) {
		return fmt.Errorf("packets: DHCPv4 message without a valid message type (option 53 = %x): %w", msgType, errMalformed)
	}
	req.Type = dhcpv4.MessageType(msgType[0])
	req.ClientHWAddr = net.HardwareAddr(msg[dhcpv4OffCHAddr : dhcpv4OffCHAddr+6 : dhcpv4OffCHAddr+6])
	req.ClientIP = netip.AddrFrom4([4]byte(msg[dhcpv4OffCIAddr : dhcpv4OffCIAddr+4]))
	if len(requested) == 4 {
		req.RequestedIP = netip.AddrFrom4([4]byte(requested))
	}
	if len(maxSize) == 2 {
		req.maxMessageSize = binary.BigEndian.Uint16(maxSize)
	}
	req.xid = [4]byte(msg[dhcpv4OffXID : dhcpv4OffXID+4])
	req.flags = binary.BigEndian.Uint16(msg[dhcpv4OffFlags : dhcpv4OffFlags+2])
	req.giaddr = [4]byte(msg[dhcpv4OffGIAddr : dhcpv4OffGIAddr+4])
	return nil
}

// dhcpv4Options holds the options ParseDHCPv4 looks at, each the
// concatenation of its instances (RFC 3396), nil when absent or empty as
// for the library's Options.Get.
type dhcpv4Options struct {
	messageType, requestedIP, maxMessageSize   []byte
	paramRequestList, clientID, relayAgentInfo []byte
	clientArch, userClass                      []byte
}

// walk reads every option before the end option, skipping pads, and fails
// as the library's parser does: on an option running past the data, or on
// data that does not end with an end option. An empty option area is
// accepted, as the library accepts it.
func (o *dhcpv4Options) walk(opts []byte) error {
	if len(opts) == 0 {
		return nil
	}
	for i := 0; i < len(opts); {
		code := opts[i]
		switch code {
		case dhcpv4OptPad:
			i++
			continue
		case dhcpv4OptEnd:
			return nil
		}
		if i+1 >= len(opts) {
			return fmt.Errorf("packets: DHCPv4 option %d without a length: %w", code, errMalformed)
		}
		n := int(opts[i+1])
		if i+2+n > len(opts) {
			return fmt.Errorf("packets: DHCPv4 option %d of %d bytes exceeds the %d bytes present: %w", code, n, len(opts)-i-2, errMalformed)
		}
		o.add(code, opts[i+2:i+2+n:i+2+n])
		i += 2 + n
	}
	return fmt.Errorf("packets: DHCPv4 options without an end option: %w", errMalformed)
}

// add records one option instance when it is one of those kept.
func (o *dhcpv4Options) add(code byte, data []byte) {
	var v *[]byte
	switch code {
	case dhcpv4OptMessageType:
		v = &o.messageType
	case dhcpv4OptRequestedIP:
		v = &o.requestedIP
	case dhcpv4OptMaxMessageSize:
		v = &o.maxMessageSize
	case dhcpv4OptParamRequestList:
		v = &o.paramRequestList
	case dhcpv4OptClientID:
		v = &o.clientID
	case dhcpv4OptRelayAgentInfo:
		v = &o.relayAgentInfo
	case dhcpv4OptClientArch:
		v = &o.clientArch
	case dhcpv4OptUserClass:
		v = &o.userClass
	default:
		return
	}
	*v = dhcpv4Concat(*v, data)
}

// dhcpv4Concat appends one more instance of an option to the previous
// ones. The first instance is used in place; only a repeated option is
// copied. Empty data leaves v as it is, nil included.
func dhcpv4Concat(v, data []byte) []byte {
	switch {
	case len(data) == 0:
		return v
	case v == nil:
		return data
	}
	return append(append(make([]byte, 0, len(v)+len(data)), v...), data...)
}

// dhcpv4RequestFromMessage gives the fields of a message decoded by the
// library, so that replies to it are built by the same code.
func dhcpv4RequestFromMessage(m *dhcpv4.DHCPv4) *DHCPv4Request {
	req := &DHCPv4Request{
		Type:             m.MessageType(),
		ClientHWAddr:     m.ClientHWAddr,
		ClientIP:         v4AddrOrZero(m.ClientIPAddr),
		op:               uint8(m.OpCode),
		hwType:           uint8(m.HWType),
		xid:              m.TransactionID,
		flags:            m.Flags,
		giaddr:           v4AddrOrZero(m.GatewayIPAddr).As4(),
		paramRequestList: m.Options.Get(dhcpv4.OptionParameterRequestList),
		clientID:         m.Options.Get(dhcpv4.OptionClientIdentifier),
		relayAgentInfo:   m.Options.Get(dhcpv4.OptionRelayAgentInformation),
		clientArch:       m.Options.Get(dhcpv4.OptionClientSystemArchitectureType),
		userClass:        m.Options.Get(dhcpv4.OptionUserClassInformation),
	}
	if ip, ok := netip.AddrFromSlice(m.RequestedIPAddress().To4()); ok {
		req.RequestedIP = ip
	}
	if n, err := m.MaxMessageSize(); err == nil {
		req.maxMessageSize = n
	}
	return req
}

// v4AddrOrZero converts an IPv4 address of the library's messages, 0.0.0.0
// for nil or anything else.
func v4AddrOrZero(ip net.IP) netip.Addr {
	if a, ok := netip.AddrFromSlice(ip.To4()); ok {
		return a
	}
	return netip.IPv4Unspecified()
}
