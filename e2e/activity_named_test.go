package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The DNS server of the activity tests: BIND 9 on the loopback of the
// hypervisor namespace, with a TSIG-keyed dynamic forward zone and reverse
// zones for the IPv4 subnet and the IPv6 prefix.
const (
	actDNSAddr   = "198.51.100.53"
	actDNSServer = actDNSAddr + ":53"
	actZone      = "act.example.org"
	actRevZone4  = "2.0.192.in-addr.arpa"
	actRevZone6  = "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
	actKeyName   = "act-key"
	actDNSOwner  = "act-host"
)

// A namedServer is one BIND process run by a test.
type namedServer struct {
	ns      *Netns
	dir     string
	conf    string
	keyFile string
	cmd     *exec.Cmd
	done    chan struct{}
	log     *lockedLog
}

// lockedLog collects a process's output for the test log on failure.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNamed writes a BIND configuration in a temp dir (key from
// tsig-keygen, zones, journal and pid files all there) and starts named
// in ns, listening on actDNSAddr, which it adds to the loopback.
func startNamed(t *testing.T, ns *Netns) *namedServer {
	t.Helper()
	requirePrereqs(t, "named", "tsig-keygen", "dig", "nsupdate")
	dir := t.TempDir()
	// The namespace's loopback carries the server's address (no dummy
	// interfaces in every kernel).
	ns.Run(t, "ip", "addr", "add", actDNSAddr+"/32", "dev", "lo")
	s := &namedServer{ns: ns, dir: dir, conf: filepath.Join(dir, "named.conf"), keyFile: filepath.Join(dir, "key.conf")}
	key, err := exec.Command("tsig-keygen", "-a", "hmac-sha256", actKeyName).Output()
	if err != nil {
		t.Fatalf("tsig-keygen: %v", err)
	}
	writeFile(t, s.keyFile, string(key))
	var zones strings.Builder
	for _, z := range []string{actZone, actRevZone4, actRevZone6} {
		file := filepath.Join(dir, z+".db")
		writeFile(t, file, fmt.Sprintf("$TTL 60\n@ IN SOA ns.%s. hostmaster.%s. 1 60 60 600 60\n@ IN NS ns.%s.\n", actZone, actZone, actZone)+
			map[bool]string{true: fmt.Sprintf("ns IN A %s\n", actDNSAddr)}[z == actZone])
		fmt.Fprintf(&zones, "zone %q { type primary; file %q; allow-update { key %q; }; allow-transfer { key %q; }; };\n",
			z, file, actKeyName, actKeyName)
	}
	writeFile(t, s.conf, fmt.Sprintf(`options {
	directory "%[1]s";
	pid-file "%[1]s/named.pid";
	session-keyfile "%[1]s/session.key";
	managed-keys-directory "%[1]s";
	listen-on port 53 { %[2]s; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
include %[3]q;
%[4]s`, dir, actDNSAddr, s.keyFile, zones.String()))
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Start runs named and waits until it answers for the zone.
func (s *namedServer) Start(t *testing.T) {
	t.Helper()
	s.done = make(chan struct{})
	s.log = &lockedLog{}
	s.cmd = s.ns.Command(context.Background(), "named", "-g", "-n", "1", "-c", s.conf, "-u", "root")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("named: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := s.ns.Try("dig", "+short", "+time=1", "+tries=1", "@"+actDNSAddr, actZone, "SOA")
		if strings.Contains(out, "hostmaster") {
			return
		}
		select {
		case <-s.done:
			t.Fatalf("named exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("named does not answer for %s: %s", actZone, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills named, if it runs.
func (s *namedServer) Stop(t *testing.T) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Secret returns the base64 secret of the key file.
func (s *namedServer) Secret(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`secret "([^"]+)"`).FindStringSubmatch(readFile(t, s.keyFile))
	if m == nil {
		t.Fatalf("no secret in %s", s.keyFile)
	}
	return m[1]
}

// dig returns the sorted answers of a query, "" when there are none.
func (s *namedServer) dig(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := s.ns.Try(append([]string{"dig", "+short", "+time=1", "+tries=1", "@" + actDNSAddr}, args...)...)
	lines := strings.Fields(out)
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

// nsupdate sends an update script signed with the zone's key.
func (s *namedServer) nsupdate(t *testing.T, script string) {
	t.Helper()
	s.ns.RunInput(t, fmt.Sprintf("server %s\n%s\nsend\n", actDNSAddr, script), "nsupdate", "-k", s.keyFile)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
