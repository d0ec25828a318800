package activity

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// A Table is what the binding watcher reads of the binding table.
type Table interface {
	SubscribeStatus() (<-chan struct{}, func())
	Status() []binding.Status
}

// WatchBindings turns the binding table's changes into binding events for
// sink until ctx is done, and forgets the book's record of a binding that
// changed or went. The bindings present at the first look raise no
// events: the event command hears about changes, and DNS registration
// reads the whole table itself. onChange, when not nil, is called after
// every pass with the table's statuses.
func WatchBindings(ctx context.Context, t Table, book *Book, sink Sink, onChange func([]binding.Status)) {
	changes, unsubscribe := t.SubscribeStatus()
	defer unsubscribe()
	var prev map[string]binding.Status
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
		}
		statuses := t.Status()
		cur := make(map[string]binding.Status, len(statuses))
		for _, s := range statuses {
			if s.Binding != nil && s.State != binding.StateInvalid {
				cur[s.Name] = s
			}
		}
		if prev != nil {
			for _, ev := range diffBindings(prev, cur, time.Now()) {
				if ev.Kind == KindChange || ev.Kind == KindUnbind {
					book.Forget(ev.TAP)
				}
				if sink != nil {
					sink(ev)
				}
			}
		}
		prev = cur
		if onChange != nil {
			onChange(statuses)
		}
	}
}

// diffBindings returns the events that lead from prev to cur, by TAP name
// then in the order bind, change, state.
func diffBindings(prev, cur map[string]binding.Status, now time.Time) []Event {
	var out []Event
	ev := func(k Kind, s binding.Status) Event {
		return Event{Kind: k, Time: now, TAP: s.Name, Binding: s.Binding, State: s.State.String(), MAC: s.Binding.MAC}
	}
	for name, s := range cur {
		old, ok := prev[name]
		switch {
		case !ok:
			out = append(out, ev(KindBind, s))
			if s.State == binding.StateActive {
				out = append(out, ev(KindActive, s))
			}
			continue
		case !sameBinding(old.Binding, s.Binding):
			out = append(out, ev(KindChange, s))
		}
		if old.State != s.State {
			switch s.State {
			case binding.StateActive:
				out = append(out, ev(KindActive, s))
			case binding.StatePending:
				out = append(out, ev(KindPending, s))
			}
		}
	}
	for name, s := range prev {
		if _, ok := cur[name]; !ok {
			out = append(out, ev(KindUnbind, s))
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if a.TAP < b.TAP {
			return -1
		}
		if a.TAP > b.TAP {
			return 1
		}
		return 0
	})
	return out
}

// sameBinding reports whether two parsed files say the same thing.
func sameBinding(a, b *binding.Binding) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	return reflect.DeepEqual(*a, *b)
}
