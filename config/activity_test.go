package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
)

func TestParseConfigActivity(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.conf")
	if err := os.WriteFile(keyFile, []byte("key \"ddns\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0\";\n};\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(`[general]
event_command = /usr/local/sbin/nfdhcpd-event
event_timeout = 3
event_queue = 100
[dns]
server = 192.0.2.53
zone = vms.example.org
reverse_zones = 2.0.192.in-addr.arpa, 8.b.d.0.1.0.0.2.ip6.arpa
ttl = 120
tsig_keyfile = `+keyFile+`
owner = hv1
register_seen_ipv6 = yes
`), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Events{Command: "/usr/local/sbin/nfdhcpd-event", Timeout: 3 * time.Second, Queue: 100}, c.General.Events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	want := DNS{
		Enable: true, Server: "192.0.2.53:53", Zone: "vms.example.org",
		ReverseZones: []string{"2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"}, TTL: 120 * time.Second,
		Key:   dnsreg.Key{Name: "ddns", Algorithm: "hmac-sha512", Secret: "c2VjcmV0"},
		Owner: "hv1", RegisterSeen: true,
	}
	if diff := cmp.Diff(want, c.DNS); diff != "" {
		t.Errorf("dns (-want +got):\n%s", diff)
	}
}

func TestParseConfigActivityErrors(t *testing.T) {
	for _, tt := range []struct{ conf, want string }{
		{"[general]\nevent_command = relative/path\n", "[general] event_command"},
		{"[general]\nevent_timeout = 0\n", "[general] event_timeout"},
		{"[dns]\nzone = example.org\n", "[dns] server"},
		{"[dns]\nserver = 192.0.2.53:53\n", "[dns] zone"},
		{"[dns]\nserver = dns.example.org\nzone = example.org\n", "[dns] server"},
		{"[dns]\nserver = 192.0.2.53\nzone = example.org\nreverse_zones = 192.0.2.0/24\n", "[dns] reverse_zones"},
		{"[dns]\nserver = 192.0.2.53\nzone = example.org\ntsig_secret = abc\n", "[dns] tsig_name"},
		{"[dns]\nserver = 192.0.2.53\nzone = example.org\ntsig_name = k\n", "[dns] tsig_secret"},
		{"[dns]\nserver = 192.0.2.53\nzone = example.org\ntsig_name = k\ntsig_secret = abc\ntsig_algorithm = hmac-sha3\n", "[dns] tsig_algorithm"},
		{"[dns]\nserver = 192.0.2.53\nzone = example.org\ntsig_keyfile = /nonexistent/key\n", "[dns] tsig_keyfile"},
	} {
		_, err := Parse([]byte(tt.conf), slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one naming %s", tt.conf, err, tt.want)
		}
	}
}
