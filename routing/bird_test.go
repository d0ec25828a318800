package routing_test

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfdhcpd/nfdhcpd/routing"
)

// listen serves greeting to every connection on a unix socket in dir.
func listen(t *testing.T, dir, greeting string) string {
	t.Helper()
	path := filepath.Join(dir, "bird.ctl")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return path
}

func TestProbeBIRD(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "bird.ctl")
	bird := listen(t, t.TempDir(), "0001 BIRD 2.0.12 ready.\n")
	other := listen(t, t.TempDir(), "220 not bird\n")

	got, err := routing.ProbeBIRD([]string{missing, other, bird}, time.Second)
	if err != nil || got != bird {
		t.Errorf("ProbeBIRD = %q, %v; want %q", got, err, bird)
	}
	_, err = routing.ProbeBIRD([]string{missing, other}, time.Second)
	if err == nil {
		t.Fatalf("ProbeBIRD found BIRD where none runs")
	}
	for _, want := range []string{missing, other, "not a BIRD greeting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ProbeBIRD error %q does not mention %q", err, want)
		}
	}
}
