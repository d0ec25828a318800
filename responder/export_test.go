package responder

import "golang.org/x/sys/unix"

// Seams for the external tests of the queue's receive path.

// RecvFunc is the queue's receive system call.
type RecvFunc = func(fd uintptr, msgs []unix.Mmsghdr) (int, error)

// VerdictSetter is the part of go-nfqueue the queue settles packets with.
type VerdictSetter = verdictSetter

// WrapQueueRecv puts wrap around q's receive system call.
func WrapQueueRecv(q *Queue, wrap func(RecvFunc) RecvFunc) { q.recv = wrap(q.recv) }

// WrapQueueVerdicts puts wrap around q's verdict setter.
func WrapQueueVerdicts(q *Queue, wrap func(VerdictSetter) VerdictSetter) {
	q.verdicts = wrap(q.verdicts)
}

// SetQueueMaxErrors sets how many read errors in a row end q's Run.
func SetQueueMaxErrors(q *Queue, n int) { q.maxErrors = n }

// A BatchFunc stands in for sendmmsg in tests: it gets the held frames
// and their interfaces and returns how many it wrote, and the error of the
// next one when it stopped early.
type BatchFunc func(ifindexes []int, frames [][]byte) (int, error)

type batchingSender struct {
	Sender
	batch  BatchFunc
	ifs    []int
	frames [][]byte
}

func (s *batchingSender) sendBatch(b *frameBatch, from int) (int, error) {
	s.ifs, s.frames = s.ifs[:0], s.frames[:0]
	for i := from; i < b.n; i++ {
		s.ifs = append(s.ifs, int(b.addrs[i].Ifindex))
		s.frames = append(s.frames, b.bufs[i])
	}
	return s.batch(s.ifs, s.frames)
}

// NewBatchingSender returns a Sender that writes single frames with
// immediate and held ones with batch, as PacketSender does with sendto
// and sendmmsg.
func NewBatchingSender(immediate Sender, batch BatchFunc) Sender {
	return &batchingSender{Sender: immediate, batch: batch}
}
