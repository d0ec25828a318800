package routing

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	mdnetlink "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netlink is the real Kernel of one network namespace: rules and routes
// through vishvananda/netlink, proxy neighbours and addresses through raw
// rtnetlink requests (the library cannot mark them with a protocol),
// sysctls through /proc/sys and the filter through nftables.
//
// Its methods must not be called concurrently.
type Netlink struct {
	ns netns.NsHandle // netns.None(): the process's own namespace
	h  *netlink.Handle
	// raw carries the requests vishvananda/netlink cannot build.
	raw map[int]*nl.SocketHandle
	// filter is the filter last set, nil until then: nftables tables are
	// rewritten as a whole, so the first sync of a process rewrites them.
	filter *Filter
	// indexes caches interface indexes by name between full resyncs,
	// which refresh it: resolving every TAP of a large sync one request at
	// a time would cost a round trip per entry. An interface recreated
	// under the same name makes an op fail, and the failure drops the
	// entry and leads to a full resync.
	indexes map[string]int
	// batch is the socket of batched requests (rtnlbatch.go), opened at
	// first use; seq numbers its requests.
	batch *nl.NetlinkSocket
	seq   uint32
}

var (
	_ Kernel      = (*Netlink)(nil)
	_ BatchKernel = (*Netlink)(nil)
)

// ApplyBatch implements BatchKernel: the bridge guard's ops go to the
// kernel a few hundred to a transaction, rules, routes and proxy
// neighbours a few hundred to a write (rtnlBatch), sysctls in one visit
// to the namespace; any other run one op at a time.
func (k *Netlink) ApplyBatch(ops []Op) []error {
	switch {
	case batchable(ops, batchGuard):
		return k.applyGuardBatch(ops)
	case batchable(ops, batchRtnl):
		return k.applyRtnlBatch(ops)
	case batchable(ops, batchSysctl):
		return writeSysctls(k.ns, ops)
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		errs[i] = k.Apply(op)
	}
	return errs
}

// NewNetlink returns the Kernel of the process's own network namespace.
func NewNetlink() (*Netlink, error) { return NewNetlinkAt(netns.None()) }

// NewNetlinkAt returns the Kernel of the network namespace ns. The caller
// keeps ownership of ns and must keep it open until Close.
func NewNetlinkAt(ns netns.NsHandle) (*Netlink, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("routing: netlink handle: %w", err)
	}
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("routing: netlink socket: %w", err)
	}
	return &Netlink{ns: ns, h: h, raw: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}}, nil
}

// Close releases the netlink sockets.
func (k *Netlink) Close() error {
	k.h.Close()
	for _, s := range k.raw {
		s.Close()
	}
	k.closeBatch()
	return nil
}

// retryDump runs dump again while the kernel reports that the dump was
// interrupted by a concurrent change, or the call by a signal.
func retryDump(dump func() error) error {
	var err error
	for range 10 {
		err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	return fmt.Errorf("routing: dump kept being interrupted: %w", err)
}

func familyOf(v6 bool) int {
	if v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet, v6 bool) netip.Prefix {
	if n == nil {
		if v6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// Observe implements Kernel.
func (k *Netlink) Observe(sysctls []string) (State, error) {
	var s State
	names, err := k.refreshLinks()
	if err != nil {
		return s, err
	}
	if s.Rules, err = k.rules(); err != nil {
		return s, err
	}
	if s.Routes, err = k.routes(names); err != nil {
		return s, err
	}
	if s.Neighs, err = k.proxyNeighs(names); err != nil {
		return s, err
	}
	if s.Addrs, err = k.addrs(names); err != nil {
		return s, err
	}
	if s.Sysctls, err = readSysctls(k.ns, sysctls); err != nil {
		return s, err
	}
	if k.filter != nil {
		f := *k.filter
		s.Filter = &f
	}
	if err := k.observeGuard(&s); err != nil {
		return s, err
	}
	return s, nil
}

// refreshLinks rebuilds the index cache and returns the interface names by
// index.
func (k *Netlink) refreshLinks() (map[int]string, error) {
	var links []netlink.Link
	if err := retryDump(func() (err error) { links, err = k.h.LinkList(); return err }); err != nil {
		return nil, fmt.Errorf("routing: list links: %w", err)
	}
	names := make(map[int]string, len(links))
	k.indexes = make(map[string]int, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		k.indexes[l.Attrs().Name] = l.Attrs().Index
	}
	return names, nil
}

// rules lists the daemon's rules of both families: its protocol, within
// its priority range.
func (k *Netlink) rules() ([]Rule, error) {
	var out []Rule
	for _, v6 := range []bool{false, true} {
		var rules []netlink.Rule
		if err := retryDump(func() (err error) { rules, err = k.h.RuleList(familyOf(v6)); return err }); err != nil {
			return nil, fmt.Errorf("routing: list rules: %w", err)
		}
		for _, r := range rules {
			if r.Protocol != Protocol || r.Priority < RulePriorityMin || r.Priority > RulePriorityMax {
				continue
			}
			rule := Rule{V6: v6, IIF: r.IifName, Table: r.Table, Priority: r.Priority}
			if r.Dst != nil {
				rule.To = prefixOf(r.Dst, v6)
			}
			out = append(out, rule)
		}
	}
	return out, nil
}

// routes lists the daemon's routes of both families in every table.
func (k *Netlink) routes(names map[int]string) ([]Route, error) {
	var out []Route
	filter := &netlink.Route{Protocol: Protocol, Table: unix.RT_TABLE_UNSPEC}
	for _, v6 := range []bool{false, true} {
		var routes []netlink.Route
		if err := retryDump(func() (err error) {
			routes, err = k.h.RouteListFiltered(familyOf(v6), filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
			return err
		}); err != nil {
			return nil, fmt.Errorf("routing: list routes: %w", err)
		}
		for _, r := range routes {
			// The daemon installs no multipath routes; a route through an
			// interface that vanished during the dump goes with it.
			dev, ok := names[r.LinkIndex]
			if !ok || len(r.MultiPath) > 0 {
				continue
			}
			out = append(out, Route{Dst: prefixOf(r.Dst, v6), Via: addrOf(r.Gw), Dev: dev, Table: r.Table,
				OnLink: r.Flags&unix.RTNH_F_ONLINK != 0})
		}
	}
	return out, nil
}

// Apply implements Kernel.
func (k *Netlink) Apply(op Op) error {
	switch e := op.Entry.(type) {
	case Rule:
		return k.applyRule(op.Action, e)
	case Route:
		return k.forgetOnError(e.Dev, k.applyRoute(op.Action, e))
	case ProxyNeigh:
		return k.forgetOnError(e.Dev, k.applyNeigh(op.Action, e))
	case Addr:
		return k.forgetOnError(e.Dev, k.applyAddr(op.Action, e))
	case Sysctl:
		return writeSysctl(k.ns, e.Name, e.Value)
	case *Filter:
		return k.setFilter(e)
	case GuardTable, GuardElem:
		return k.applyGuard(op)
	}
	return fmt.Errorf("routing: cannot apply %T: %w", op.Entry, errConfig)
}

func (k *Netlink) applyRule(action Action, r Rule) error {
	nr := netlink.NewRule()
	nr.Family = familyOf(r.V6)
	nr.Priority = r.Priority
	nr.Table = r.Table
	nr.IifName = r.IIF
	nr.Protocol = Protocol
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
	}
	if action == Del {
		if err := k.h.RuleDel(nr); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	}
	if err := k.h.RuleAdd(nr); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

// forgetOnError drops the cached index of dev when err is set: the
// interface may have been recreated with another index.
func (k *Netlink) forgetOnError(dev string, err error) error {
	if err != nil {
		delete(k.indexes, dev)
	}
	return err
}

// linkIndex returns the index of the interface name; found is false when
// it does not exist.
func (k *Netlink) linkIndex(name string) (index int, found bool, err error) {
	if i, ok := k.indexes[name]; ok {
		return i, true, nil
	}
	l, err := k.h.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) || errors.Is(err, unix.ENODEV) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("routing: link %s: %w", name, err)
	}
	if k.indexes == nil {
		k.indexes = map[string]int{}
	}
	k.indexes[name] = l.Attrs().Index
	return l.Attrs().Index, true, nil
}

func (k *Netlink) applyRoute(action Action, r Route) error {
	index, found, err := k.linkIndex(r.Dev)
	if err != nil {
		return err
	}
	if !found {
		if action == Del {
			return nil // the kernel removed the route with its interface
		}
		return fmt.Errorf("routing: route %s: no interface %s: %w", r, r.Dev, unix.ENODEV)
	}
	nr := &netlink.Route{LinkIndex: index, Dst: ipNet(r.Dst), Table: r.Table, Protocol: Protocol}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
		if r.OnLink {
			nr.Flags = unix.RTNH_F_ONLINK
		}
	} else if r.Dst.Addr().Is4() {
		nr.Scope = netlink.SCOPE_LINK
	}
	if action == Del {
		if err := k.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		return nil
	}
	return k.h.RouteReplace(nr)
}

// Link implements Kernel.
func (k *Netlink) Link(name string) (Link, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return Link{}, fmt.Errorf("routing: link %s: %w", name, err)
	}
	link := Link{Index: l.Attrs().Index, MAC: l.Attrs().HardwareAddr}
	addrs, err := k.h.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return Link{}, fmt.Errorf("routing: addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if ip := addrOf(a.IP); ip.IsLinkLocalUnicast() {
			link.LinkLocal = ip
			break
		}
	}
	return link, nil
}

func (k *Netlink) setFilter(f *Filter) error {
	if err := validateFilter(f); err != nil {
		return err
	}
	opts := []nftables.ConnOption{nftables.WithSockOptions(ackRoom(f))}
	if k.ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(k.ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("routing: nftables: %w", err)
	}
	nftFilterRules(c, f)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("routing: nftables table %s: %w", TableName, err)
	}
	applied := *f
	k.filter = &applied
	return nil
}

// ackRoom makes the nftables socket carry f's whole transaction: one
// sendmsg of every message, which must fit the send buffer, and the
// acknowledgements, which the kernel queues (one per message, each in a
// buffer of its own) before the library reads any. The default buffers
// (208 KiB) overflow with EMSGSIZE or ENOBUFS at a few hundred rules,
// some 150 bindings with antispoof. Acks carry only the header
// (NETLINK_CAP_ACK), and the buffers grow past wmem_max and rmem_max
// with SO_SNDBUFFORCE and SO_RCVBUFFORCE, which need CAP_NET_ADMIN like
// the rest of this package.
func ackRoom(f *Filter) nftables.SockOption {
	messages := len(f.ARPSenders) + len(f.Antispoof) + len(f.Masquerade) + 16 // tables and chains
	for _, a := range f.Antispoof {
		if len(a.Sources) > 0 {
			messages += 2 // the TAP's source set and its elements
		}
	}
	size := max(1<<20, messages*2048)
	return func(c *mdnetlink.Conn) error {
		if err := c.SetOption(mdnetlink.CapAcknowledge, true); err != nil {
			return fmt.Errorf("routing: nftables socket: NETLINK_CAP_ACK: %w", err)
		}
		raw, err := c.SyscallConn()
		if err != nil {
			return fmt.Errorf("routing: nftables socket: %w", err)
		}
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = errors.Join(
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size))
		}); err != nil {
			return fmt.Errorf("routing: nftables socket: %w", err)
		}
		if serr != nil {
			// Without the capability: as much as wmem_max and rmem_max allow.
			return errors.Join(c.SetWriteBuffer(size), c.SetReadBuffer(size))
		}
		return nil
	}
}
