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
