package routing

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// rtnlChunk bounds the requests of one write: their acknowledgements
// (header-only, NETLINK_CAP_ACK) queue on the socket until read, and a
// dropped one would leave an op without its answer.
const rtnlChunk = 256

// rtnlRcvBuf is the batch socket's receive buffer: room for a chunk's
// acknowledgements (about 1 KiB of buffer each) several times over.
const rtnlRcvBuf = 4 << 20

// applyRtnlBatch applies rules, routes and proxy neighbours with one
// write of up to rtnlChunk requests and one read of their
// acknowledgements, instead of a write and a read per request. The
// kernel handles the requests of a write in order, each on its own, so
// the result is the one of applying them one by one; each op gets the
// error of its own acknowledgement. Profiles of 14,000 entries showed
// the per-request system calls and waits as most of the sync's time.
func (k *Netlink) applyRtnlBatch(ops []Op) []error {
	errs := make([]error, len(ops))
	s, err := k.batchSocket()
	if err != nil {
		for i, op := range ops {
			errs[i] = k.Apply(op) // the slow path still works
		}
		return errs
	}
	for start := 0; start < len(ops); start += rtnlChunk {
		k.sendChunk(s, ops[start:min(start+rtnlChunk, len(ops))], errs[start:])
	}
	return errs
}

// batchSocket returns the socket of batches, opened at first use.
func (k *Netlink) batchSocket() (*nl.NetlinkSocket, error) {
	if k.batch != nil {
		return k.batch, nil
	}
	s, err := nl.GetNetlinkSocketAt(k.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("routing: netlink batch socket: %w", err)
	}
	fd := s.GetFd()
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		s.Close()
		return nil, fmt.Errorf("routing: netlink batch socket: NETLINK_CAP_ACK: %w", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rtnlRcvBuf) != nil {
		// Without CAP_NET_ADMIN: what rmem_max allows.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rtnlRcvBuf)
	}
	k.batch = s
	return s, nil
}

// sendChunk writes the requests of ops at once and stores each op's
// outcome in errs.
func (k *Netlink) sendChunk(s *nl.NetlinkSocket, ops []Op, errs []error) {
	var buf []byte
	pending := map[uint32]int{} // sequence number -> index in ops
	for i, op := range ops {
		req, err := k.rtnlRequest(op)
		if err != nil || req == nil {
			errs[i] = err // nil request: nothing to do (its interface is gone)
			continue
		}
		k.seq++
		req.Seq = k.seq
		pending[req.Seq] = i
		buf = append(buf, req.Serialize()...)
	}
	if len(pending) == 0 {
		return
	}
	fail := func(err error) {
		for _, i := range pending {
			errs[i] = err
		}
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Sendto(s.GetFd(), buf, 0, sa); err != nil {
		fail(fmt.Errorf("routing: netlink batch: %w", err))
		k.closeBatch()
		return
	}
	for len(pending) > 0 {
		msgs, _, err := s.Receive()
		if err != nil {
			fail(fmt.Errorf("routing: netlink batch: %w", err))
			k.closeBatch() // unread acknowledgements must not meet the next batch
			return
		}
		for _, m := range msgs {
			i, ok := pending[m.Header.Seq]
			if !ok || m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			delete(pending, m.Header.Seq)
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				errs[i] = unix.Errno(-code)
			}
		}
	}
	for i, op := range ops {
		errs[i] = rtnlResult(op, errs[i])
		if errs[i] != nil {
			switch e := op.Entry.(type) {
			case Route:
				k.forgetOnError(e.Dev, errs[i])
			case ProxyNeigh:
				k.forgetOnError(e.Dev, errs[i])
			}
		}
	}
}

func (k *Netlink) closeBatch() {
	if k.batch != nil {
		k.batch.Close()
		k.batch = nil
	}
}

// rtnlResult applies to a request's error what Apply accepts as done:
// adding what exists (rules), deleting what is gone.
func rtnlResult(op Op, err error) error {
	if err == nil {
		return nil
	}
	if op.Action == Del && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV)) {
		return nil
	}
	if _, rule := op.Entry.(Rule); rule && op.Action == Add && errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err // the reconciler names the op
}

// rtnlRequest builds op's request with an acknowledgement asked for; nil
// without an error when there is nothing to do.
func (k *Netlink) rtnlRequest(op Op) (*nl.NetlinkRequest, error) {
	switch e := op.Entry.(type) {
	case Rule:
		return ruleRequest(op.Action, e), nil
	case Route:
		index, found, err := k.linkIndex(e.Dev)
		if err != nil || !found && op.Action == Del {
			return nil, err // a deleted interface took its routes along
		}
		if !found {
			return nil, fmt.Errorf("routing: route %s: no interface %s: %w", e, e.Dev, unix.ENODEV)
		}
		return routeRequest(op.Action, e, index), nil
	case ProxyNeigh:
		index, found, err := k.linkIndex(e.Dev)
		if err != nil || !found && op.Action == Del {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("routing: neigh %s: no interface %s: %w", e, e.Dev, unix.ENODEV)
		}
		return neighRequest(op.Action, e, index), nil
	}
	return nil, fmt.Errorf("routing: cannot batch %T: %w", op.Entry, errConfig)
}

func u32Attr(typ int, v uint32) *nl.RtAttr {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return nl.NewRtAttr(typ, b)
}

// routeRequest is the RTM_NEWROUTE (create or replace) or RTM_DELROUTE
// of r through the interface index.
func routeRequest(action Action, r Route, index int) *nl.NetlinkRequest {
	typ, flags := unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK
	if action == Del {
		typ, flags = unix.RTM_DELROUTE, unix.NLM_F_ACK
	}
	req := nl.NewNetlinkRequest(typ, flags)
	msg := nl.NewRtMsg()
	if action == Del {
		msg = nl.NewRtDelMsg() // any scope
	}
	msg.Family = unix.AF_INET
	if r.Dst.Addr().Is6() {
		msg.Family = unix.AF_INET6
	}
	msg.Dst_len = uint8(r.Dst.Bits())
	msg.Protocol = Protocol
	msg.Table = unix.RT_TABLE_UNSPEC
	if r.Table < 256 {
		msg.Table = uint8(r.Table)
	}
	if action == Add && !r.Via.IsValid() && r.Dst.Addr().Is4() {
		msg.Scope = unix.RT_SCOPE_LINK
	}
	if r.Via.IsValid() && r.OnLink {
		msg.Flags = unix.RTNH_F_ONLINK
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.RTA_DST, r.Dst.Addr().AsSlice()))
	if r.Via.IsValid() {
		req.AddData(nl.NewRtAttr(unix.RTA_GATEWAY, r.Via.AsSlice()))
	}
	req.AddData(u32Attr(unix.RTA_OIF, uint32(index)))
	req.AddData(u32Attr(unix.RTA_TABLE, uint32(r.Table)))
	return req
}

// ruleRequest is the RTM_NEWRULE (exclusive create) or RTM_DELRULE of r.
// A fib_rule_hdr has the layout of an rtmsg: the action lies where the
// route type does.
func ruleRequest(action Action, r Rule) *nl.NetlinkRequest {
	typ, flags := unix.RTM_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK
	if action == Del {
		typ, flags = unix.RTM_DELRULE, unix.NLM_F_ACK
	}
	req := nl.NewNetlinkRequest(typ, flags)
	msg := nl.NewRtMsg()
	msg.Family = uint8(familyOf(r.V6))
	msg.Scope = unix.RT_SCOPE_UNIVERSE
	msg.Protocol = 0
	msg.Type = unix.FR_ACT_TO_TBL
	if action == Del {
		msg.Type = unix.FR_ACT_UNSPEC
	}
	msg.Table = unix.RT_TABLE_UNSPEC
	if r.Table < 256 {
		msg.Table = uint8(r.Table)
	}
	if r.To.IsValid() {
		msg.Dst_len = uint8(r.To.Bits())
	}
	req.AddData(msg)
	if r.To.IsValid() {
		req.AddData(nl.NewRtAttr(unix.FRA_DST, r.To.Addr().AsSlice()))
	}
	req.AddData(u32Attr(unix.FRA_PRIORITY, uint32(r.Priority)))
	req.AddData(u32Attr(unix.FRA_TABLE, uint32(r.Table)))
	if r.IIF != "" {
		req.AddData(nl.NewRtAttr(unix.FRA_IIFNAME, nl.ZeroTerminated(r.IIF)))
	}
	req.AddData(nl.NewRtAttr(unix.FRA_PROTOCOL, []byte{Protocol}))
	return req
}

// neighRequest is the RTM_NEWNEIGH (create or replace) or RTM_DELNEIGH
// of the proxy entry n, as applyNeigh sends it.
func neighRequest(action Action, n ProxyNeigh, index int) *nl.NetlinkRequest {
	family := unix.AF_INET6
	if n.Addr.Is4() {
		family = unix.AF_INET
	}
	msg := &netlink.Ndmsg{Family: uint8(family), Index: uint32(index), Flags: netlink.NTF_PROXY, State: netlink.NUD_PERMANENT}
	dst := nl.NewRtAttr(unix.NDA_DST, n.Addr.AsSlice())
	if action == Del {
		req := nl.NewNetlinkRequest(unix.RTM_DELNEIGH, unix.NLM_F_ACK)
		req.AddData(msg)
		req.AddData(dst)
		return req
	}
	req := nl.NewNetlinkRequest(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK)
	req.AddData(msg)
	req.AddData(dst)
	req.AddData(nl.NewRtAttr(ndaProtocol, []byte{Protocol}))
	return req
}
