package netnstest_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/internal/netnstest"
)

// recordingTB records how a helper ended the test, and ends only the
// goroutine it was called on, as testing.T does.
type recordingTB struct {
	testing.TB
	calls []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.calls = append(r.calls, "Fatalf: "+fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.calls = append(r.calls, "Skipf: "+fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func TestMissingPrerequisite(t *testing.T) {
	for _, tt := range []struct {
		ci   string
		want []string
	}{
		{ci: "", want: []string{"Skipf: skipping: need tool x"}},
		{ci: "false", want: []string{"Skipf: skipping: need tool x"}},
		{ci: "true", want: []string{"Fatalf: CI=true, not skipping: need tool x"}},
	} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			var r recordingTB
			done := make(chan struct{})
			go func() {
				defer close(done)
				netnstest.MissingPrerequisite(&r, "need tool %s", "x")
			}()
			<-done
			if diff := cmp.Diff(tt.want, r.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b netnstest.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "line\n")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got, want := strings.Count(b.String(), "line\n"), 800; got != want {
		t.Errorf("buffer holds %d lines, want %d", got, want)
	}
}

func TestDoUnknownNamespace(t *testing.T) {
	ran := false
	err := netnstest.Do("netnstest-absent-"+netnstest.RandomHex(4), func() error { ran = true; return nil })
	if err == nil || ran {
		t.Errorf("Do in a namespace that does not exist: err %v, fn ran %v; want an error and fn not run", err, ran)
	}
}

func TestDoRunsInTheNamespace(t *testing.T) {
	netnstest.RequireRoot(t)
	name := "netnstest-" + netnstest.RandomHex(4)
	netnstest.NewNamespace(t, name)
	want, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	var inside netns.NsHandle
	netnstest.InNS(t, name, func() { inside, err = netns.Get() })
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	if !inside.Equal(want) {
		t.Errorf("InNS ran fn in %v, want namespace %s (%v)", inside, name, want)
	}
	back, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Equal(want) {
		t.Errorf("thread still in namespace %s after InNS", name)
	}
	if out := netnstest.Run(t, "ip", "-n", name, "link", "show", "lo"); !strings.Contains(out, "UP") {
		t.Errorf("loopback of %s not up:\n%s", name, out)
	}
}
