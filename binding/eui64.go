package binding

import (
	"fmt"
	"net"
	"net/netip"
)

// EUI64 returns the modified EUI-64 address (RFC 4291 appendix A) of the
// 48-bit mac inside the /64 prefix: what SLAAC gives the VM.
func EUI64(mac net.HardwareAddr, prefix netip.Prefix) (netip.Addr, error) {
	if len(mac) != 6 {
		return netip.Addr{}, fmt.Errorf("binding: EUI-64 needs a 48-bit MAC, got %q", mac)
	}
	if !prefix.Addr().Is6() || prefix.Bits() > 64 {
		return netip.Addr{}, fmt.Errorf("binding: EUI-64 needs an IPv6 prefix of /64 or shorter, got %s", prefix)
	}
	a := prefix.Masked().Addr().As16()
	a[8] = mac[0] ^ 0x02
	a[9] = mac[1]
	a[10] = mac[2]
	a[11] = 0xff
	a[12] = 0xfe
	a[13] = mac[3]
	a[14] = mac[4]
	a[15] = mac[5]
	return netip.AddrFrom16(a), nil
}

// LinkLocal returns the EUI-64 link-local address (fe80::/64) of mac.
func LinkLocal(mac net.HardwareAddr) (netip.Addr, error) {
	return EUI64(mac, netip.MustParsePrefix("fe80::/64"))
}
