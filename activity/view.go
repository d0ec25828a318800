package activity

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
)

// A View is a copy of one Record for the status report and its JSON.
type View struct {
	LastRequests     []RequestView `json:"last_requests,omitempty"`
	LeaseIP          string        `json:"lease_ip,omitempty"`
	LeaseAt          time.Time     `json:"lease_at,omitzero"`
	LeaseEnd         time.Time     `json:"lease_end,omitzero"`
	ClientHostname   string        `json:"client_hostname,omitempty"`
	VendorClass      string        `json:"vendor_class,omitempty"`
	UserClass        string        `json:"user_class,omitempty"`
	ClientID         string        `json:"client_id,omitempty"` // hex
	ParamRequestList []int         `json:"param_request_list,omitempty"`
	DUID             string        `json:"duid,omitempty"` // hex
	Leased6          []string      `json:"dhcpv6_addresses,omitempty"`
	Leased6At        time.Time     `json:"dhcpv6_at,omitzero"`
	Delegated6       []string      `json:"dhcpv6_prefixes,omitempty"`
	Delegated6At     time.Time     `json:"dhcpv6_prefixes_at,omitzero"`
	Seen6            []SeenView    `json:"ipv6_in_use,omitempty"`
}

// A RequestView is the latest request of one kind.
type RequestView struct {
	Protocol string    `json:"protocol"` // dhcpv4, dhcpv6, rs, ns
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
}

// A SeenView is one IPv6 address in use.
type SeenView struct {
	Address string    `json:"address"`
	How     string    `json:"how"` // dad, ns
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// View returns a copy of tap's record, and false when its VM sent
// nothing since its binding appeared or changed.
func (b *Book) View(tap string) (View, bool) {
	b.mu.RLock()
	r := b.recs[tap]
	b.mu.RUnlock()
	if r == nil {
		return View{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var v View
	for t, at := range r.v4Last {
		if at != 0 {
			v.LastRequests = append(v.LastRequests, RequestView{"dhcpv4", dhcpv4.MessageType(t).String(), unix(at)})
		}
	}
	for t, at := range r.v6Last {
		if at != 0 {
			v.LastRequests = append(v.LastRequests, RequestView{"dhcpv6", dhcpv6.MessageType(t).String(), unix(at)})
		}
	}
	if r.rsLast != 0 {
		v.LastRequests = append(v.LastRequests, RequestView{"rs", "router solicitation", unix(r.rsLast)})
	}
	if r.nsLast != 0 {
		v.LastRequests = append(v.LastRequests, RequestView{"ns", "neighbor solicitation", unix(r.nsLast)})
	}
	if r.ackIP.IsValid() {
		v.LeaseIP, v.LeaseAt, v.LeaseEnd = r.ackIP.String(), unix(r.ackAt), unix(r.leaseEnd)
	}
	v.ClientHostname = printable(r.hostName.get())
	v.VendorClass = printable(r.vendorClass.get())
	v.UserClass = printable(r.userClass.get())
	v.ClientID = hexString(r.clientID.get())
	for _, c := range r.paramList.get() {
		v.ParamRequestList = append(v.ParamRequestList, int(c))
	}
	v.DUID = hexString(r.duid[:r.duidLen])
	for _, a := range r.leased6[:r.leased6N] {
		v.Leased6 = append(v.Leased6, a.String())
	}
	if r.leased6N > 0 {
		v.Leased6At = unix(r.leased6T)
	}
	for _, p := range r.deleg6[:r.deleg6N] {
		v.Delegated6 = append(v.Delegated6, p.String())
	}
	if r.deleg6N > 0 {
		v.Delegated6At = unix(r.deleg6T)
	}
	seen := slices.Clone(r.seen[:r.nseen])
	slices.SortFunc(seen, func(a, b seen6) int { return a.addr.Compare(b.addr) })
	for _, s := range seen {
		v.Seen6 = append(v.Seen6, SeenView{s.addr.String(), s.how.String(), unix(s.first), unix(s.last)})
	}
	return v, true
}

// InUse6 returns the IPv6 addresses tap's VM was seen using that are not
// link-local, sorted: the ones worth publishing in DNS.
func (b *Book) InUse6(tap string) []netip.Addr {
	var out []netip.Addr
	for _, a := range b.Seen6(tap) {
		if !a.IsLinkLocalUnicast() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func unix(ns int64) time.Time { return time.Unix(0, ns) }

// printable turns what a VM sent into text safe for a log line, an
// environment variable or a terminal: control and non-UTF-8 bytes become
// '?'.
func printable(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := strings.ToValidUTF8(string(b), "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func hexString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}
