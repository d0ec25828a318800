package e2e

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
)

// replayBindings is a fixed binding table.
type replayBindings struct{ s *binding.Snapshot }

func (b replayBindings) Snapshot() *binding.Snapshot { return b.s }

// replaySender counts the frames it is asked to send.
type replaySender struct {
	mu   sync.Mutex
	sent int
}

func (s *replaySender) Send(int, []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	return nil
}

// replayActive is the lab's binding of TAP i (0: evil, 1: good), as the
// daemon derives it from the binding file newHostileLab writes.
func replayActive(t *testing.T, i int, ip string) *binding.Active {
	t.Helper()
	name := "tap" + strconv.Itoa(i)
	l := &Link{Tap: name, VMMAC: vmMAC(byte(0x31 + i))}
	b, err := binding.Parse(name, []byte(vmBinding(l, ip, "vm-"+name, "SUBNET6", v6Subnet, "GATEWAY6", v6Gateway)))
	if err != nil {
		t.Fatal(err)
	}
	return &binding.Active{Binding: b, TapIndex: 10 + i, IndevMAC: hostileTapMAC(i)}
}

// TestHostileFixturesReplay feeds every frame of fixtures/hostile to the
// responder as NFQUEUE would hand it over from the evil VM's TAP, with the
// lab's bindings and options, and checks the outcome and the number of
// replies TestHostileVM saw through the real queues. It needs no root, so
// these regression packets run with every `go test ./...`.
func TestHostileFixturesReplay(t *testing.T) {
	f, err := os.Open(filepath.Join(hostileFixtures, hostileManifest))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]responder.Kind{"dhcpv4": responder.KindDHCPv4, "rs": responder.KindRS, "ns": responder.KindNS, "dhcpv6": responder.KindDHCPv6}
	outcomes := map[string]responder.Outcome{}
	for o := responder.OutcomeAnswered; o.String() != "unknown"; o++ {
		outcomes[o.String()] = o
	}
	snap := binding.NewSnapshot([]*binding.Active{replayActive(t, 0, "192.0.2.30"), replayActive(t, 1, "192.0.2.31")})
	opts := responder.Options{
		LeaseTime:    604800 * time.Second,
		RenewalTime:  600 * time.Second,
		ServerIP:     netip.MustParseAddr(testServerIP),
		Nameservers:  []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Domain:       "example.org",
		IPv6:         true,
		Mode:         responder.ModeDHCPv6,
		Nameservers6: []netip.Addr{netip.MustParseAddr(v6DNS)},
		Domains6:     []string{v6Domain},
	}
	cases := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("%s: bad line %q", hostileManifest, line)
		}
		file, kind, outcome := fields[0], kinds[fields[1]], outcomes[fields[2]]
		replies, err := strconv.Atoi(fields[3])
		if err != nil {
			t.Fatalf("%s: bad line %q", hostileManifest, line)
		}
		cases++
		t.Run(strings.TrimSuffix(file, ".frame"), func(t *testing.T) {
			frame, err := os.ReadFile(filepath.Join(hostileFixtures, file))
			if err != nil {
				t.Fatal(err)
			}
			sender := &replaySender{}
			r := responder.New(replayBindings{snap}, sender, opts, slog.New(slog.DiscardHandler))
			p := &responder.Packet{InIndex: 10, HwAddr: net.HardwareAddr(bytes.Clone(frame[6:12])), Payload: frame[14:]}
			if v := r.Handler(kind)(p); v != responder.Drop {
				t.Errorf("verdict %v, want drop", v)
			}
			got := map[string]uint64{}
			for _, o := range outcomes {
				if n := r.Stats.Get(kind, o); n > 0 {
					got[o.String()] = n
				}
			}
			if diff := cmp.Diff(map[string]uint64{outcome.String(): 1}, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if sender.sent != replies {
				t.Errorf("%d replies sent, want %d", sender.sent, replies)
			}
		})
	}
	if cases < 40 {
		t.Errorf("%s lists %d cases, want the suite's 40 or more", hostileManifest, cases)
	}
}
