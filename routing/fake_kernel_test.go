package routing_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

// fakeKernel is a Kernel that keeps the daemon's entries in memory, records
// every op as a text line and fails the ops it was told to fail.
type fakeKernel struct {
	mu      sync.Mutex
	entries map[string]routing.Entry // "kind String()" → entry, the daemon's own
	sysctls map[string]string
	filter  *routing.Filter
	guard   *routing.GuardTable
	links   map[string]routing.Link

	log      []string
	observes int
	// failures maps an op line prefix to the error of the next op that
	// matches it (one shot).
	failures map[string]error
	// failObserve is returned by the next Observe (one shot).
	failObserve error
}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{
		entries:  map[string]routing.Entry{},
		sysctls:  map[string]string{},
		links:    map[string]routing.Link{},
		failures: map[string]error{},
	}
}

var errInjected = errors.New("injected failure")

func entryKey(e routing.Entry) string {
	op := routing.Op{Action: routing.Add, Entry: e}
	kind, _, _ := strings.Cut(op.String(), " ")
	return kind + " " + e.String()
}

func (k *fakeKernel) failNext(prefix string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failures[prefix] = fmt.Errorf("%s: %w", prefix, errInjected)
}

func (k *fakeKernel) Observe(names []string) (routing.State, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.observes++
	if err := k.failObserve; err != nil {
		k.failObserve = nil
		return routing.State{}, err
	}
	var s routing.State
	for _, key := range slices.Sorted(maps.Keys(k.entries)) {
		switch e := k.entries[key].(type) {
		case routing.Rule:
			s.Rules = append(s.Rules, e)
		case routing.Route:
			s.Routes = append(s.Routes, e)
		case routing.ProxyNeigh:
			s.Neighs = append(s.Neighs, e)
		case routing.Addr:
			s.Addrs = append(s.Addrs, e)
		case routing.GuardElem:
			s.GuardElems = append(s.GuardElems, e)
		}
	}
	if k.guard != nil {
		g := *k.guard
		s.Guard = &g
	}
	for _, n := range names {
		if v, ok := k.sysctls[n]; ok {
			s.Sysctls = append(s.Sysctls, routing.Sysctl{Name: n, Value: v})
		}
	}
	if k.filter != nil {
		f := *k.filter
		s.Filter = &f
	}
	return s, nil
}

func (k *fakeKernel) Apply(op routing.Op) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	line := op.String()
	k.log = append(k.log, line)
	for prefix, err := range k.failures {
		if strings.HasPrefix(line, prefix) {
			delete(k.failures, prefix)
			return err
		}
	}
	key := entryKey(op.Entry)
	switch e := op.Entry.(type) {
	case routing.Sysctl:
		k.sysctls[e.Name] = e.Value
	case *routing.Filter:
		f := *e
		k.filter = &f
	case routing.GuardTable:
		// A new table starts with empty sets; a deleted one takes its
		// elements along.
		for key, e := range k.entries {
			if _, ok := e.(routing.GuardElem); ok {
				delete(k.entries, key)
			}
		}
		k.guard = nil
		if op.Action != routing.Del {
			k.guard = &e
		}
	default:
		if op.Action == routing.Del {
			delete(k.entries, key)
		} else {
			k.entries[key] = e
		}
	}
	return nil
}

func (k *fakeKernel) Link(name string) (routing.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.links[name]
	if !ok {
		return routing.Link{}, fmt.Errorf("link %s: %w", name, errInjected)
	}
	return l, nil
}

// takeLog returns the ops recorded since the last call.
func (k *fakeKernel) takeLog() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.log
	k.log = nil
	return l
}

// lines returns what the kernel holds as the daemon's, in State.Lines form.
func (k *fakeKernel) lines(sysctls []string) []string {
	k.mu.Lock()
	failObserve := k.failObserve
	k.failObserve = nil
	k.mu.Unlock()
	s, _ := k.Observe(sysctls)
	k.mu.Lock()
	k.failObserve = failObserve
	k.observes--
	k.mu.Unlock()
	return stateLines(s)
}

// stateLines returns s.Lines() in sorted order, independent of how the
// lists were ordered.
func stateLines(s routing.State) []string {
	l := s.Lines()
	slices.Sort(l)
	return l
}

// fakeSender records the frames it is given.
type fakeSender struct {
	mu     sync.Mutex
	frames []sentFrame
}

type sentFrame struct {
	ifindex int
	frame   []byte
}

func (s *fakeSender) Send(ifindex int, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, sentFrame{ifindex, frame})
	return nil
}

func (s *fakeSender) take() []sentFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.frames
	s.frames = nil
	return f
}

// dropLink does what the kernel does when an interface is deleted: its
// routes, proxy neighbours, addresses and sysctls go with it.
func (k *fakeKernel) dropLink(dev string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, e := range k.entries {
		switch e := e.(type) {
		case routing.Route:
			if e.Dev == dev {
				delete(k.entries, key)
			}
		case routing.ProxyNeigh:
			if e.Dev == dev {
				delete(k.entries, key)
			}
		case routing.Addr:
			if e.Dev == dev {
				delete(k.entries, key)
			}
		}
	}
	for name := range k.sysctls {
		if strings.Contains(name, "/"+dev+"/") {
			delete(k.sysctls, name)
		}
	}
}
