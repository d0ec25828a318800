package routing

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The guard is built through the nftables library, like the daemon's inet
// and arp tables: its set elements change with every binding, a few at a
// time, which one netlink transaction does in microseconds where `nft -f`
// would fork a process and parse a script per change.

func guardTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyBridge, Name: TableName}
}

// guardSetKeyType returns the key type of a guard set.
func guardSetKeyType(name string) nftables.SetDatatype {
	switch name {
	case GuardSetMAC:
		return nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr)
	case GuardSetIPv4:
		return nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr)
	case GuardSetIPv6, GuardSetTarget:
		return nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIP6Addr)
	}
	return nftables.TypeIFName
}

func guardSet(t *nftables.Table, name string) *nftables.Set {
	s := &nftables.Set{Table: t, Name: name, KeyType: guardSetKeyType(name)}
	if name == GuardSetPorts || name == GuardSetMACSpoof {
		// nft prints interface names in host byte order; without the
		// mark it lists them as "".
		s.KeyByteOrder = binaryutil.NativeEndian
	} else {
		s.Concatenation = true
	}
	return s
}

// guardKey encodes e as its set's key: the NUL-padded interface name, then
// the MAC padded to 8 bytes or the address (concatenated fields are padded
// to whole 32-bit registers).
func guardKey(e GuardElem) ([]byte, error) {
	if err := validateGuardElem(e); err != nil {
		return nil, err
	}
	key := ifname(e.Dev)
	switch e.Set {
	case GuardSetMAC:
		mac, _ := net.ParseMAC(e.MAC)
		key = append(key, mac...)
		key = append(key, 0, 0)
	case GuardSetIPv4, GuardSetIPv6, GuardSetTarget:
		key = append(key, e.Addr.AsSlice()...)
	}
	return key, nil
}

// guardElemOf decodes a key of set name; ok is false for a key the daemon
// cannot have written.
func guardElemOf(name string, key []byte) (GuardElem, bool) {
	if len(key) < unix.IFNAMSIZ {
		return GuardElem{}, false
	}
	dev := string(key[:unix.IFNAMSIZ])
	if i := slices.Index(key[:unix.IFNAMSIZ], 0); i >= 0 {
		dev = string(key[:i])
	}
	rest := key[unix.IFNAMSIZ:]
	e := GuardElem{Set: name, Dev: dev}
	switch name {
	case GuardSetPorts, GuardSetMACSpoof:
		return e, len(rest) == 0
	case GuardSetMAC:
		if len(rest) != 8 {
			return e, false
		}
		e.MAC = net.HardwareAddr(rest[:6]).String()
	case GuardSetIPv4, GuardSetIPv6, GuardSetTarget:
		a, ok := netip.AddrFromSlice(rest)
		if !ok || a.Is4() != (name == GuardSetIPv4) {
			return e, false
		}
		e.Addr = a
	default:
		return e, false
	}
	return e, true
}

// Expression helpers for the guard chain. Register 1 holds a field on its
// own or the interface name of a concatenation (16 bytes, one whole
// 128-bit register); register 2 the field concatenated to it.

func etherType(t uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(t >> 8), byte(t)}},
	}
}

func l4proto(p byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

func payloadCmp(base expr.PayloadBase, offset uint32, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: base, Offset: offset, Len: uint32(len(data))},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

// notInSet is `iifname . FIELD != @set`, or `iifname != @set` when field
// is nil.
func notInSet(s *nftables.Set, field *expr.Payload) []expr.Any {
	exprs := []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}}
	if field != nil {
		field.DestRegister = 2
		exprs = append(exprs, field)
	}
	return append(exprs, &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: true})
}

func countDrop(counter string) []expr.Any {
	return []expr.Any{
		&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: counter},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86dd
	etherARP    = 0x0806
	ether8021Q  = 0x8100
	ether8021AD = 0x88a8
	protoUDP    = 17
	protoICMPv6 = 58
)

// guardRuleExprs returns the expressions of r, given the sets by name.
func guardRuleExprs(r guardRule, sets map[string]*nftables.Set) []expr.Any {
	var e []expr.Any
	add := func(x ...[]expr.Any) {
		for _, xs := range x {
			e = append(e, xs...)
		}
	}
	nh, th := expr.PayloadBaseNetworkHeader, expr.PayloadBaseTransportHeader
	icmpv6Type := func(t byte) []expr.Any {
		return append(l4proto(protoICMPv6), payloadCmp(th, 0, expr.CmpOpEq, []byte{t})...)
	}
	accept := []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}
	switch r.kind {
	case ruleMAC:
		add(notInSet(sets[GuardSetMACSpoof], nil),
			notInSet(sets[GuardSetMAC], &expr.Payload{Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6}))
	case ruleTagged8021Q:
		add(etherType(ether8021Q))
	case ruleTagged8021AD:
		add(etherType(ether8021AD))
	case ruleDHCPv4Server:
		add(etherType(etherIPv4), l4proto(protoUDP), payloadCmp(th, 0, expr.CmpOpEq, []byte{0, 67}))
	case ruleDHCPv6Server:
		add(etherType(etherIPv6), l4proto(protoUDP), payloadCmp(th, 0, expr.CmpOpEq, []byte{0x02, 0x23}))
	case ruleRA:
		add(etherType(etherIPv6), icmpv6Type(134))
	case ruleRedirect:
		add(etherType(etherIPv6), icmpv6Type(137))
	case ruleARPLayout:
		add(etherType(etherARP), payloadCmp(nh, 0, expr.CmpOpNeq, []byte{0, 1, 8, 0, 6, 4}))
	case ruleARPSenderMAC:
		add(etherType(etherARP), notInSet(sets[GuardSetMACSpoof], nil),
			notInSet(sets[GuardSetMAC], &expr.Payload{Base: nh, Offset: 8, Len: 6}))
	case ruleARPProbe:
		add(etherType(etherARP), payloadCmp(nh, 6, expr.CmpOpEq, []byte{0, 1}),
			payloadCmp(nh, 14, expr.CmpOpEq, []byte{0, 0, 0, 0}), accept)
	case ruleARPSenderIP:
		add(etherType(etherARP), notInSet(sets[GuardSetIPv4], &expr.Payload{Base: nh, Offset: 14, Len: 4}))
	case ruleDHCPv4Client:
		add(etherType(etherIPv4), payloadCmp(nh, 12, expr.CmpOpEq, []byte{0, 0, 0, 0}),
			l4proto(protoUDP), payloadCmp(th, 0, expr.CmpOpEq, []byte{0, 68, 0, 67}), accept)
	case ruleIPv4Source:
		add(etherType(etherIPv4), notInSet(sets[GuardSetIPv4], &expr.Payload{Base: nh, Offset: 12, Len: 4}))
	case ruleDADNS, ruleDADMLD:
		t := byte(135)
		if r.kind == ruleDADMLD {
			t = 143
		}
		add(etherType(etherIPv6), payloadCmp(nh, 8, expr.CmpOpEq, make([]byte, 16)), icmpv6Type(t), accept)
	case ruleIPv6Source:
		add(etherType(etherIPv6), notInSet(sets[GuardSetIPv6], &expr.Payload{Base: nh, Offset: 8, Len: 16}))
	case ruleNATarget:
		add(etherType(etherIPv6), icmpv6Type(136),
			notInSet(sets[GuardSetTarget], &expr.Payload{Base: th, Offset: 8, Len: 16}))
	}
	if r.counter != "" {
		add(countDrop(r.counter))
	}
	return e
}

// nftGuardTable queues, on c, the replacement of the guard table by its
// static part with empty sets. An AddTable/DelTable pair first makes the
// deletion succeed whether the table existed or not; Flush sends it all
// as one transaction.
func nftGuardTable(c *nftables.Conn) error {
	t := guardTable()
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	for _, name := range GuardCounters {
		c.AddObj(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
	}
	sets := map[string]*nftables.Set{}
	for _, name := range GuardSets {
		s := guardSet(t, name)
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("routing: guard set %s: %w", name, err)
		}
		sets[name] = s
	}
	guard := c.AddChain(&nftables.Chain{Name: "guard", Table: t})
	for _, r := range guardRules {
		c.AddRule(&nftables.Rule{Table: t, Chain: guard, Exprs: guardRuleExprs(r, sets)})
	}
	accept := nftables.ChainPolicyAccept
	pre := c.AddChain(&nftables.Chain{
		Name: "prerouting", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(GuardChainPriority), Policy: &accept,
	})
	c.AddRule(&nftables.Rule{
		Table: t, Chain: pre,
		Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Lookup{SourceRegister: 1, SetName: sets[GuardSetPorts].Name, SetID: sets[GuardSetPorts].ID},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: "guard"},
		},
		UserData: userdata.AppendString(nil, userdata.TypeComment, guardComment()),
	})
	return nil
}

// nftConn opens an nftables connection in the kernel's namespace.
func (k *Netlink) nftConn() (*nftables.Conn, error) {
	c, err := nftConnAt(k.ns)
	if err != nil {
		return nil, fmt.Errorf("routing: nftables: %w", err)
	}
	return c, nil
}

func nftConnAt(ns netns.NsHandle) (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	return nftables.New(opts...)
}

// observeGuard reads the guard table into s: its version (from the
// prerouting rule's comment) and, when it is the current one, its set
// elements. No table leaves s.Guard nil.
func (k *Netlink) observeGuard(s *State) error {
	c, err := k.nftConn()
	if err != nil {
		return err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge)
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil // a kernel without nftables' bridge family holds no guard
	}
	if err != nil {
		return fmt.Errorf("routing: list bridge tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == TableName }) {
		return nil
	}
	t := guardTable()
	version := ""
	rules, err := c.GetRules(t, &nftables.Chain{Name: "prerouting", Table: t})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("routing: guard rules: %w", err)
	}
	if len(rules) == 1 {
		if comment, ok := userdata.GetString(rules[0].UserData, userdata.TypeComment); ok {
			version, _ = strings.CutPrefix(comment, guardCommentPrefix)
		}
	}
	if version == "" {
		version = "unknown"
	}
	s.Guard = &GuardTable{Version: version}
	if version != GuardVersion {
		return nil // replaced as a whole, elements included
	}
	for _, name := range GuardSets {
		elems, err := c.GetSetElements(guardSet(t, name))
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				// A set removed by hand: rebuild the table.
				s.Guard.Version = "incomplete"
				s.GuardElems = nil
				return nil
			}
			return fmt.Errorf("routing: guard set %s: %w", name, err)
		}
		for _, el := range elems {
			if e, ok := guardElemOf(name, el.Key); ok {
				s.GuardElems = append(s.GuardElems, e)
			}
		}
	}
	return nil
}

// applyGuard applies one guard op in a transaction of its own.
func (k *Netlink) applyGuard(op Op) error {
	errs := k.applyGuardBatch([]Op{op})
	return errs[0]
}

// applyGuardBatch applies guard ops, the elements of a run of up to
// guardBatch ops in one transaction; when a transaction fails, its ops are
// retried one by one, so that each error names its own op. Deleting an
// element that is gone succeeds.
func (k *Netlink) applyGuardBatch(ops []Op) []error {
	errs := make([]error, len(ops))
	for start := 0; start < len(ops); start += guardBatch {
		chunk := ops[start:min(start+guardBatch, len(ops))]
		if len(chunk) > 1 && k.flushGuard(chunk) == nil {
			continue
		}
		for i, op := range chunk {
			err := k.flushGuard([]Op{op})
			if err != nil && op.Action == Del && errors.Is(err, unix.ENOENT) {
				err = nil
			}
			errs[start+i] = err
		}
	}
	return errs
}

// flushGuard applies ops in one transaction. A connection of the library
// dials a netlink socket per Flush: one per transaction costs nothing more,
// and a failed transaction leaves nothing queued behind.
func (k *Netlink) flushGuard(ops []Op) error {
	c, err := k.nftConn()
	if err != nil {
		return err
	}
	if err := queueGuardOps(c, ops); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("routing: nftables bridge table %s: %w", TableName, err)
	}
	return nil
}

// guardBatch bounds the ops of one transaction, well within a netlink
// message batch.
const guardBatch = 512

// queueGuardOps queues ops on c, the elements of each set in one message.
func queueGuardOps(c *nftables.Conn, ops []Op) error {
	t := guardTable()
	type key struct {
		set string
		del bool
	}
	elems := map[key][]nftables.SetElement{}
	var order []key
	for _, op := range ops {
		switch e := op.Entry.(type) {
		case GuardTable:
			if op.Action == Del {
				c.AddTable(t)
				c.DelTable(t)
				continue
			}
			if err := nftGuardTable(c); err != nil {
				return err
			}
		case GuardElem:
			b, err := guardKey(e)
			if err != nil {
				return err
			}
			k := key{e.Set, op.Action == Del}
			if _, ok := elems[k]; !ok {
				order = append(order, k)
			}
			elems[k] = append(elems[k], nftables.SetElement{Key: b})
		default:
			return fmt.Errorf("routing: %s is not a guard op: %w", op, errConfig)
		}
	}
	for _, k := range order {
		s := guardSet(t, k.set)
		var err error
		if k.del {
			err = c.SetDeleteElements(s, elems[k])
		} else {
			err = c.SetAddElements(s, elems[k])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// GuardDrops returns the guard's counters in the process's own network
// namespace: how many frames it dropped, by counter name. A missing table
// gives nil and no error.
func GuardDrops() (map[string]uint64, error) { return GuardDropsAt(netns.None()) }

// GuardDropsAt is GuardDrops in the namespace ns.
func GuardDropsAt(ns netns.NsHandle) (map[string]uint64, error) {
	c, err := nftConnAt(ns)
	if err != nil {
		return nil, fmt.Errorf("routing: nftables: %w", err)
	}
	objs, err := c.GetObjects(guardTable())
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("routing: guard counters: %w", err)
	}
	drops := map[string]uint64{}
	for _, o := range objs {
		if co, ok := o.(*nftables.CounterObj); ok {
			drops[co.Name] = co.Packets
		}
	}
	return drops, nil
}
