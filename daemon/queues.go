package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nfdhcpd/nfdhcpd/config"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// A queueSet runs one responder loop per configured queue and can change
// the set on reload. It is used from one goroutine (the daemon's main
// loop); the loops it starts report fatal errors on Failed.
type queueSet struct {
	log   *slog.Logger
	serve func(ctx context.Context, kind responder.Kind, src responder.Source) error
	open  func(num uint16) (responder.Source, error)

	running  map[responder.Kind]*runningQueue
	reserved map[responder.Kind]openedQueue // opened, not served yet
	wg       sync.WaitGroup
	failed   chan error
}

// An openedQueue is a queue's socket that no loop serves yet.
type openedQueue struct {
	num int
	src responder.Source
}

type runningQueue struct {
	num    int
	cancel context.CancelFunc
	done   chan struct{}
}

// newQueueSet returns a set that opens queues with open and serves them
// with serve (Responder.Serve).
func newQueueSet(log *slog.Logger, open func(uint16) (responder.Source, error),
	serve func(context.Context, responder.Kind, responder.Source) error) *queueSet {
	return &queueSet{
		log:      log,
		open:     open,
		serve:    serve,
		running:  make(map[responder.Kind]*runningQueue),
		reserved: make(map[responder.Kind]openedQueue),
		failed:   make(chan error, int(responder.KindDHCPv6)+1),
	}
}

// Failed delivers the error of a queue loop that stopped on its own: the
// queue can no longer be read, which the daemon treats as fatal.
func (s *queueSet) Failed() <-chan error { return s.failed }

// Reserve opens the sockets of the queues of want that are neither
// running nor reserved yet, without serving them: the daemon holds its
// queues (the kernel gives each to one listener) before it touches kernel
// state. Packets wait in the kernel until Apply serves them. A queue that
// cannot be opened leaves the set as it was.
func (s *queueSet) Reserve(want []config.QueueSpec) error {
	opened := make(map[responder.Kind]openedQueue)
	for _, q := range want {
		if r, ok := s.running[q.Kind]; ok && r.num == q.Num {
			continue
		}
		if r, ok := s.reserved[q.Kind]; ok && r.num == q.Num {
			continue
		}
		src, err := s.open(uint16(q.Num))
		if err != nil {
			closeSources(opened)
			return fmt.Errorf("%s queue %d: %w", q.Kind, q.Num, err)
		}
		opened[q.Kind] = openedQueue{num: q.Num, src: src}
	}
	for kind, q := range opened {
		if old, ok := s.reserved[kind]; ok {
			closeSources(map[responder.Kind]openedQueue{kind: old})
		}
		s.reserved[kind] = q
	}
	return nil
}

// Apply makes the running queues those of want: queues whose number
// changed are reopened, removed ones are stopped, unchanged ones keep
// running untouched. New sockets are all opened (or taken from Reserve)
// before anything is stopped, so a queue that cannot be opened leaves the
// set as it was.
func (s *queueSet) Apply(ctx context.Context, want []config.QueueSpec) error {
	if err := s.Reserve(want); err != nil {
		return err
	}
	wanted := make(map[responder.Kind]int, len(want))
	for _, q := range want {
		wanted[q.Kind] = q.Num
	}
	for kind, r := range s.running {
		if num, ok := wanted[kind]; !ok || num != r.num {
			s.stop(kind)
		}
	}
	// Start in the order of want, for readable logs.
	for _, q := range want {
		if r, ok := s.reserved[q.Kind]; ok && r.num == q.Num {
			delete(s.reserved, q.Kind)
			s.start(ctx, q, r.src)
		}
	}
	s.closeReserved()
	return nil
}

func (s *queueSet) start(ctx context.Context, q config.QueueSpec, src responder.Source) {
	qctx, cancel := context.WithCancel(ctx)
	r := &runningQueue{num: q.Num, cancel: cancel, done: make(chan struct{})}
	s.running[q.Kind] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		err := s.serve(qctx, q.Kind, src)
		if err != nil && qctx.Err() == nil {
			select {
			case s.failed <- err:
			default:
			}
		}
	}()
	s.log.Info("queue opened", "QUEUE", q.Num, "kind", q.Kind.String())
}

func (s *queueSet) stop(kind responder.Kind) {
	r := s.running[kind]
	r.cancel()
	<-r.done
	delete(s.running, kind)
	s.log.Info("queue closed", "QUEUE", r.num, "kind", kind.String())
}

// StopAll stops every queue and waits for their loops to end: every
// packet already taken has its verdict when it returns. Reserved queues
// are closed.
func (s *queueSet) StopAll() {
	for _, r := range s.running {
		r.cancel()
	}
	s.wg.Wait()
	clear(s.running)
	s.closeReserved()
}

func (s *queueSet) closeReserved() {
	closeSources(s.reserved)
	clear(s.reserved)
}

// closeSources closes sources that were opened but never run.
func closeSources(srcs map[responder.Kind]openedQueue) {
	for _, q := range srcs {
		if c, ok := q.src.(interface{ Close() error }); ok {
			c.Close()
		}
	}
}
