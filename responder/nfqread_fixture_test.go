package responder_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

var updateFixture = flag.Bool("update-queue-fixture", false, "rewrite testdata/nfqueue-datagrams.bin from a real queue")

// queueFixture holds datagrams the kernel sent a queue's socket, each
// prefixed with its length (uint32, host order): what
// BenchmarkQueueReadPath reads.
const queueFixture = "testdata/nfqueue-datagrams.bin"

// TestQueueFixtureIsReal captures the datagrams of a burst through a real
// queue and checks that the fixture has the same shape (sizes, since the
// IDs and indexes differ from run to run); with -update-queue-fixture it
// rewrites the fixture from the capture.
func TestQueueFixtureIsReal(t *testing.T) {
	r := newQueueRig(t, 4852, nil)
	var mu sync.Mutex
	var captured [][]byte
	capturing := false
	responder.WrapQueueRecv(r.q, func(next responder.RecvFunc) responder.RecvFunc {
		return func(fd uintptr, msgs []unix.Mmsghdr) (int, error) {
			n, err := next(fd, msgs)
			mu.Lock()
			defer mu.Unlock()
			for i := 0; capturing && i < n; i++ {
				captured = append(captured, bytes.Clone(unsafe.Slice(msgs[i].Hdr.Iov.Base, msgs[i].Len)))
			}
			return n, err
		}
	})
	r.start(t)
	mu.Lock()
	capturing = true
	mu.Unlock()
	// A DHCP DISCOVER's size.
	payload := make([]byte, 300)
	for range 64 {
		r.p.Conn.Write(payload)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(captured)
		mu.Unlock()
		if n >= 64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("captured %d of 64 datagrams", n)
		}
	}
	r.cancel()
	<-r.done
	mu.Lock()
	defer mu.Unlock()
	if *updateFixture {
		var out []byte
		for _, d := range captured[:64] {
			out = binary.NativeEndian.AppendUint32(out, uint32(len(d)))
			out = append(out, d...)
		}
		if err := os.WriteFile(queueFixture, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixture := readQueueFixture(t)
	if len(fixture) != 64 {
		t.Fatalf("fixture holds %d datagrams, want 64", len(fixture))
	}
	for i, d := range fixture {
		if len(d) != len(captured[i]) {
			t.Errorf("datagram %d: fixture %d bytes, a real queue now sends %d", i, len(d), len(captured[i]))
		}
	}
}

func readQueueFixture(tb testing.TB) [][]byte {
	b, err := os.ReadFile(queueFixture)
	if err != nil {
		tb.Fatal(err)
	}
	var ds [][]byte
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint32(b))
		ds = append(ds, b[4:4+n])
		b = b[4+n:]
	}
	return ds
}
