package routing

// An Action is what an Op does to its entry.
type Action uint8

// The actions of a plan.
const (
	Add Action = iota // create, or replace when it exists
	Del               // delete
	Set               // write a sysctl, or rewrite an nftables table
)

func (a Action) String() string {
	switch a {
	case Add:
		return "add"
	case Del:
		return "del"
	}
	return "set"
}

// An Op is one change to the kernel.
type Op struct {
	Action Action
	Entry  Entry
}

// String returns the op as a text line: "rule add iif tap1 lookup 500 pref 20200".
func (o Op) String() string { return o.Entry.kind() + " " + o.Action.String() + " " + o.Entry.String() }

// Diff returns the ops that turn observed into desired, in the order they
// must be applied: deletions first, rules before the routes they lead to;
// then additions, addresses and direct routes before the gateway routes
// that need them, rules last so that no traffic is steered into a table
// before its routes exist; then sysctls and the nftables tables.
//
// Entries of observed that desired lacks are deleted: observed must hold
// only the daemon's own entries.
func Diff(desired, observed State) []Op {
	var ops []Op
	ops = appendDels(ops, desired.Rules, observed.Rules)
	// A gateway route goes before the direct route its nexthop relies on.
	ops = appendDels(ops, withGateway(desired.Routes, true), withGateway(observed.Routes, true))
	ops = appendDels(ops, withGateway(desired.Routes, false), withGateway(observed.Routes, false))
	ops = appendDels(ops, desired.Neighs, observed.Neighs)
	ops = appendDels(ops, desired.Addrs, observed.Addrs)

	ops = appendAdds(ops, desired.Addrs, observed.Addrs)
	ops = appendAdds(ops, withGateway(desired.Routes, false), withGateway(observed.Routes, false))
	ops = appendAdds(ops, withGateway(desired.Routes, true), withGateway(observed.Routes, true))
	ops = appendAdds(ops, desired.Neighs, observed.Neighs)
	ops = appendAdds(ops, desired.Rules, observed.Rules)

	have := make(map[string]string, len(observed.Sysctls))
	for _, s := range observed.Sysctls {
		have[s.Name] = s.Value
	}
	for _, s := range desired.Sysctls {
		if v, ok := have[s.Name]; !ok || v != s.Value {
			ops = append(ops, Op{Action: Set, Entry: s})
		}
	}
	if desired.Filter != nil && !desired.Filter.Equal(observed.Filter) {
		ops = append(ops, Op{Action: Set, Entry: desired.Filter})
	}
	return appendGuard(ops, desired, observed)
}

// appendGuard appends the bridge guard's ops: the table when it is
// missing or of another version (which empties its sets), then the set
// elements to delete and to add. A guard no longer wanted goes with its
// table, elements included.
func appendGuard(ops []Op, desired, observed State) []Op {
	if desired.Guard == nil {
		if observed.Guard != nil {
			ops = append(ops, Op{Action: Del, Entry: *observed.Guard})
		}
		return ops
	}
	have := observed.GuardElems
	if observed.Guard == nil || *observed.Guard != *desired.Guard {
		ops = append(ops, Op{Action: Set, Entry: *desired.Guard})
		have = nil
	}
	ops = appendDels(ops, desired.GuardElems, have)
	return appendAdds(ops, desired.GuardElems, have)
}

func withGateway(routes []Route, gateway bool) []Route {
	var out []Route
	for _, r := range routes {
		if r.Via.IsValid() == gateway {
			out = append(out, r)
		}
	}
	return out
}

func keys[E Entry](es []E) map[string]bool {
	m := make(map[string]bool, len(es))
	for _, e := range es {
		m[e.String()] = true
	}
	return m
}

func appendDels[E Entry](ops []Op, desired, observed []E) []Op {
	want := keys(desired)
	for _, e := range observed {
		if !want[e.String()] {
			ops = append(ops, Op{Action: Del, Entry: e})
		}
	}
	return ops
}

func appendAdds[E Entry](ops []Op, desired, observed []E) []Op {
	have := keys(observed)
	for _, e := range desired {
		if !have[e.String()] {
			ops = append(ops, Op{Action: Add, Entry: e})
		}
	}
	return ops
}
