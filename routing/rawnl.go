package routing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Attribute numbers that golang.org/x/sys does not name.
const (
	ndaProtocol = 12 // NDA_PROTOCOL, linux/neighbour.h (5.3)
	ifaProto    = 11 // IFA_PROTO, linux/if_addr.h (6.1)
	ifaFNoDAD   = 0x02
)

func (k *Netlink) request(typ, flags int, data ...nl.NetlinkRequestData) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(typ, flags)
	req.Sockets = k.raw
	for _, d := range data {
		req.AddData(d)
	}
	return req
}

// proxyNeighs lists the IPv6 proxy neighbours marked with Protocol.
func (k *Netlink) proxyNeighs(names map[int]string) ([]ProxyNeigh, error) {
	var out []ProxyNeigh
	err := retryDump(func() error {
		out = nil
		req := k.request(unix.RTM_GETNEIGH, unix.NLM_F_DUMP,
			&netlink.Ndmsg{Family: unix.AF_INET6, Flags: netlink.NTF_PROXY})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNEIGH)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if len(m) < 12 || m[10]&netlink.NTF_PROXY == 0 {
				continue
			}
			index := int(nl.NativeEndian().Uint32(m[4:8]))
			attrs, err := nl.ParseRouteAttr(m[12:])
			if err != nil {
				return fmt.Errorf("routing: proxy neighbour message: %w", err)
			}
			var addr netip.Addr
			ours := false
			for _, a := range attrs {
				switch a.Attr.Type {
				case unix.NDA_DST:
					addr, _ = netip.AddrFromSlice(a.Value)
				case ndaProtocol:
					ours = len(a.Value) == 1 && a.Value[0] == Protocol
				}
			}
			if dev, ok := names[index]; ok && ours && addr.IsValid() {
				out = append(out, ProxyNeigh{Addr: addr, Dev: dev})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("routing: list proxy neighbours: %w", err)
	}
	return out, nil
}

func (k *Netlink) applyNeigh(action Action, n ProxyNeigh) error {
	index, found, err := k.linkIndex(n.Dev)
	if err != nil {
		return err
	}
	if !found {
		if action == Del {
			return nil // proxy entries go with their interface
		}
		return fmt.Errorf("routing: neigh %s: no interface %s: %w", n, n.Dev, unix.ENODEV)
	}
	family := unix.AF_INET6
	if n.Addr.Is4() {
		family = unix.AF_INET
	}
	msg := &netlink.Ndmsg{Family: uint8(family), Index: uint32(index), Flags: netlink.NTF_PROXY, State: netlink.NUD_PERMANENT}
	dst := nl.NewRtAttr(unix.NDA_DST, n.Addr.AsSlice())
	if action == Del {
		_, err := k.request(unix.RTM_DELNEIGH, unix.NLM_F_ACK, msg, dst).Execute(unix.NETLINK_ROUTE, 0)
		// ENODEV: the entry went with its interface.
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("routing: neigh del %s: %w", n, err)
		}
		return nil
	}
	proto := nl.NewRtAttr(ndaProtocol, []byte{Protocol})
	_, err = k.request(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK, msg, dst, proto).Execute(unix.NETLINK_ROUTE, 0)
	if err != nil {
		return fmt.Errorf("routing: neigh add %s: %w", n, err)
	}
	return nil
}

// addrs lists the addresses marked with Protocol.
func (k *Netlink) addrs(names map[int]string) ([]Addr, error) {
	var out []Addr
	err := retryDump(func() error {
		out = nil
		req := k.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, nl.NewIfAddrmsg(unix.AF_UNSPEC))
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWADDR)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if len(m) < unix.SizeofIfAddrmsg {
				continue
			}
			family, bits := m[0], int(m[1])
			index := int(binary.NativeEndian.Uint32(m[4:8]))
			attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfAddrmsg:])
			if err != nil {
				return fmt.Errorf("routing: address message: %w", err)
			}
			var local, address netip.Addr
			ours := false
			for _, a := range attrs {
				switch a.Attr.Type {
				case unix.IFA_LOCAL:
					local, _ = netip.AddrFromSlice(a.Value)
				case unix.IFA_ADDRESS:
					address, _ = netip.AddrFromSlice(a.Value)
				case ifaProto:
					ours = len(a.Value) == 1 && a.Value[0] == Protocol
				}
			}
			addr := address
			if family == unix.AF_INET && local.IsValid() {
				addr = local
			}
			if dev, ok := names[index]; ok && ours && addr.IsValid() {
				out = append(out, Addr{Prefix: netip.PrefixFrom(addr, bits), Dev: dev})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("routing: list addresses: %w", err)
	}
	return out, nil
}

func (k *Netlink) applyAddr(action Action, a Addr) error {
	index, found, err := k.linkIndex(a.Dev)
	if err != nil {
		return err
	}
	if !found {
		if action == Del {
			return nil
		}
		return fmt.Errorf("routing: addr %s: no interface %s: %w", a, a.Dev, unix.ENODEV)
	}
	ip := a.Prefix.Addr()
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	msg := nl.NewIfAddrmsg(family)
	msg.Prefixlen = uint8(a.Prefix.Bits())
	msg.Index = uint32(index)
	if ip.Is6() {
		// The gateway must answer at once, not after duplicate address detection.
		msg.Flags = ifaFNoDAD
	}
	data := []nl.NetlinkRequestData{msg}
	if ip.Is4() {
		data = append(data, nl.NewRtAttr(unix.IFA_LOCAL, ip.AsSlice()))
	}
	data = append(data, nl.NewRtAttr(unix.IFA_ADDRESS, ip.AsSlice()))
	if action == Del {
		_, err := k.request(unix.RTM_DELADDR, unix.NLM_F_ACK, data...).Execute(unix.NETLINK_ROUTE, 0)
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("routing: addr del %s: %w", a, err)
		}
		return nil
	}
	data = append(data, nl.NewRtAttr(ifaProto, []byte{Protocol}))
	_, err = k.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK, data...).Execute(unix.NETLINK_ROUTE, 0)
	if err != nil {
		return fmt.Errorf("routing: addr add %s: %w", a, err)
	}
	return nil
}
