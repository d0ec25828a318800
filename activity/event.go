package activity

import (
	"net"
	"net/netip"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// A Kind names an event.
type Kind uint8

const (
	// Binding events, from the binding table.
	KindBind    Kind = iota + 1 // a binding file appeared
	KindChange                  // a binding file changed
	KindUnbind                  // a binding file went away
	KindActive                  // a binding's interfaces exist: it is answered
	KindPending                 // a binding's TAP or INDEV went away
	// Lease events, from the VM's requests.
	KindLease    // first DHCPv4 ACK after the binding appeared or changed
	KindRelease  // DHCPv4 RELEASE
	KindDecline  // DHCPv4 DECLINE
	KindNAK      // DHCPv4 NAK sent
	KindLease6   // DHCPv6 address handed out (first time for this binding)
	KindAddress6 // a new IPv6 address seen in use by the VM
	KindPrefix6  // a DHCPv6 prefix delegated (first time for this binding)
)

var kindNames = [...]string{
	KindBind: "bind", KindChange: "change", KindUnbind: "unbind", KindActive: "active", KindPending: "pending",
	KindLease: "lease", KindRelease: "release", KindDecline: "decline", KindNAK: "nak",
	KindLease6: "lease6", KindAddress6: "address6", KindPrefix6: "prefix6",
}

// String returns the name of the kind as NFDHCPD_EVENT carries it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// An Event is one thing that happened to a binding or its VM.
type Event struct {
	Kind Kind
	Time time.Time
	// TAP is the binding's name; Binding its content (nil only when
	// unknown), shared and never modified.
	TAP     string
	Binding *binding.Binding
	// State is the binding's state after the event (active, pending).
	State string
	// What the VM said and was given, set for lease events.
	ClientHostname string
	VendorClass    string
	UserClass      string
	ClientID       []byte
	IP             netip.Addr   // the DHCPv4 address concerned
	LeaseEnd       time.Time    // end of the lease ACKed
	Address6       netip.Addr   // the IPv6 address handed out or seen
	Prefix6        netip.Prefix // the prefix delegated
	MAC            net.HardwareAddr
}

// A Sink takes events. It must not block: the responder calls it from the
// packet path.
type Sink func(Event)

// Fanout returns a Sink that hands each event to every sink in turn.
func Fanout(sinks ...Sink) Sink {
	return func(ev Event) {
		for _, s := range sinks {
			if s != nil {
				s(ev)
			}
		}
	}
}
