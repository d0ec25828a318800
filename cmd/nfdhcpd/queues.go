package main

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

	running map[responder.Kind]*runningQueue
	wg      sync.WaitGroup
	failed  chan error
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
		log:     log,
		open:    open,
		serve:   serve,
		running: make(map[responder.Kind]*runningQueue),
		failed:  make(chan error, int(responder.KindDHCPv6)+1),
	}
}

// Failed delivers the error of a queue loop that stopped on its own: the
// queue can no longer be read, which the daemon treats as fatal.
func (s *queueSet) Failed() <-chan error { return s.failed }

// Apply makes the running queues those of want: queues whose number
// changed are reopened, removed ones are stopped, unchanged ones keep
// running untouched. New sockets are all opened before anything is
// stopped, so a queue that cannot be opened leaves the set as it was.
func (s *queueSet) Apply(ctx context.Context, want []config.QueueSpec) error {
	wanted := make(map[responder.Kind]int, len(want))
	opened := make(map[responder.Kind]responder.Source)
	for _, q := range want {
		wanted[q.Kind] = q.Num
		if r, ok := s.running[q.Kind]; ok && r.num == q.Num {
			continue
		}
		src, err := s.open(uint16(q.Num))
		if err != nil {
			closeSources(opened)
			return fmt.Errorf("%s queue %d: %w", q.Kind, q.Num, err)
		}
		opened[q.Kind] = src
	}
	for kind, r := range s.running {
		if num, ok := wanted[kind]; !ok || num != r.num {
			s.stop(kind)
		}
	}
	// Start in the order of want, for readable logs.
	for _, q := range want {
		if src, ok := opened[q.Kind]; ok {
			s.start(ctx, q, src)
		}
	}
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
// packet already taken has its verdict when it returns.
func (s *queueSet) StopAll() {
	for _, r := range s.running {
		r.cancel()
	}
	s.wg.Wait()
	clear(s.running)
}

// closeSources closes sources that were opened but never run.
func closeSources(srcs map[responder.Kind]responder.Source) {
	for _, src := range srcs {
		if c, ok := src.(interface{ Close() error }); ok {
			c.Close()
		}
	}
}
