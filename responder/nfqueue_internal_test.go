package responder

import (
	"log/slog"
	"os"
	"testing"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// TestQueueReceiveBuffer checks that a queue's socket gets the large
// receive buffer that lets bursts wait in the queue instead of bypassing
// the daemon.
func TestQueueReceiveBuffer(t *testing.T) {
	if os.Geteuid() != 0 {
		netnstest.MissingPrerequisite(t, "need root (CAP_NET_ADMIN) to open a queue")
	}
	// Opening without binding touches no queue: no namespace is needed.
	q, err := OpenQueue(4646, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	defer q.Close()
	got, err := q.nf.Con.ReadBuffer()
	if err != nil {
		t.Fatal(err)
	}
	// The kernel reports twice the size asked for (bookkeeping overhead).
	if got < receiveBufferSize {
		t.Errorf("receive buffer = %d bytes, want at least %d", got, receiveBufferSize)
	}
}
