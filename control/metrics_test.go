package control

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/nfdhcpd/nfdhcpd/binding"
	"github.com/nfdhcpd/nfdhcpd/responder"
	"github.com/nfdhcpd/nfdhcpd/routing"
)

// metricsTestBindings is a fixed binding table.
type metricsTestBindings struct{ s *binding.Snapshot }

func (b metricsTestBindings) Snapshot() *binding.Snapshot { return b.s }

// metricsTestSender accepts every frame.
type metricsTestSender struct{}

func (metricsTestSender) Send(int, []byte) error { return nil }

// metricsDiscover returns the IPv4 datagram of a DISCOVER from mac.
func metricsDiscover(t *testing.T, mac net.HardwareAddr) []byte {
	t.Helper()
	m, err := dhcpv4.NewDiscovery(mac)
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4zero, DstIP: net.IPv4bcast}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, udp, gopacket.Payload(m.ToBytes())); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scrape fetches /metrics from h and returns every sample as series→value.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text exposition format", ct)
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

func TestMetricsEndpoint(t *testing.T) {
	vmMAC := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	active := &binding.Active{
		Binding: binding.Binding{
			Name: "tap1", Indev: "tap1", MAC: vmMAC,
			IP: netip.MustParseAddr("192.0.2.10"), Subnet: netip.MustParsePrefix("192.0.2.0/24"),
			Gateway: netip.MustParseAddr("192.0.2.1"),
		},
		TapIndex: 5,
		IndevMAC: net.HardwareAddr{0xfe, 0x54, 0, 0, 0, 1},
	}
	resp := responder.New(metricsTestBindings{binding.NewSnapshot([]*binding.Active{active})}, metricsTestSender{},
		responder.Options{ServerIP: netip.MustParseAddr("198.51.100.1")}, slog.New(slog.DiscardHandler))
	h := resp.Handler(responder.KindDHCPv4)
	discover := metricsDiscover(t, vmMAC)
	for range 2 {
		h(&responder.Packet{ID: 1, InIndex: 5, HwAddr: vmMAC, Payload: discover})
	}
	h(&responder.Packet{ID: 2, InIndex: 99, Payload: discover}) // no binding

	kernelTable := filepath.Join(t.TempDir(), "nfnetlink_queue")
	if err := os.WriteFile(kernelTable, []byte(
		"   42  12345     3 2 65535     7     8     1000  1\n"+
			"   77  54321     0 2 65535     9     9        1  1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var routingStats routing.Stats
	started := time.Unix(1_700_000_000, 0)
	handler := NewMetricsHandler(Sources{
		Report: func() Report {
			r := NewReport([]binding.Status{
				{Name: "tap1", State: binding.StateActive},
				{Name: "tap2", State: binding.StateInvalid, Reason: "bad MAC"},
				{Name: "tap3", State: binding.StateInvalid, Reason: "bad IP"},
			}, &resp.Stats)
			r.Version, r.Started = "1.2.3", started
			r.Routing = &RoutingReport{Role: "vmc", LastSync: time.Unix(1_700_000_100, 0), LastError: "route add: busy"}
			return r
		},
		Stats:        &resp.Stats,
		Queues:       func() map[uint16]uint64 { return map[uint16]uint64{42: 4, 43: 0} },
		Routing:      routingStats.Snapshot,
		KernelQueues: kernelTable,
	}, slog.New(slog.DiscardHandler))

	got := scrape(t, handler)
	want := map[string]float64{
		`nfdhcpd_build_info{version="1.2.3"}`:                                       1,
		`nfdhcpd_start_time_seconds`:                                                1_700_000_000,
		`nfdhcpd_packets_total{outcome="answered",queue="dhcpv4"}`:                  2,
		`nfdhcpd_packets_total{outcome="unknown_tap",queue="dhcpv4"}`:               1,
		`nfdhcpd_packets_total{outcome="answered",queue="rs"}`:                      0,
		`nfdhcpd_bindings{state="active"}`:                                          1,
		`nfdhcpd_bindings{state="pending"}`:                                         0,
		`nfdhcpd_bindings{state="invalid"}`:                                         2,
		`nfdhcpd_requests_total{message_type="discover",queue="dhcpv4"}`:            2,
		`nfdhcpd_requests_total{message_type="request",queue="dhcpv4"}`:             0,
		`nfdhcpd_requests_total{message_type="information_request",queue="dhcpv6"}`: 0,
		`nfdhcpd_requests_total{message_type="router_solicitation",queue="rs"}`:     0,
		`nfdhcpd_replies_total{message_type="offer",queue="dhcpv4"}`:                2,
		`nfdhcpd_replies_total{message_type="ack",queue="dhcpv4"}`:                  0,
		`nfdhcpd_verdict_latency_seconds_count{queue="dhcpv4"}`:                     3,
		`nfdhcpd_verdict_latency_seconds_bucket{queue="dhcpv4",le="+Inf"}`:          3,
		`nfdhcpd_verdict_latency_seconds_count{queue="ns"}`:                         0,
		`nfdhcpd_queue_socket_overflows_total{queue_num="42"}`:                      4,
		`nfdhcpd_queue_socket_overflows_total{queue_num="43"}`:                      0,
		`nfdhcpd_kernel_queue_dropped_total{queue_num="42"}`:                        7,
		`nfdhcpd_kernel_queue_user_dropped_total{queue_num="42"}`:                   8,
		`nfdhcpd_kernel_queue_waiting{queue_num="42"}`:                              3,
		`nfdhcpd_routing_syncs_total`:                                               0,
		`nfdhcpd_routing_ops_total{result="applied"}`:                               0,
		`nfdhcpd_routing_ops_total{result="failed"}`:                                0,
		`nfdhcpd_routing_last_sync_timestamp_seconds`:                               1_700_000_100,
		`nfdhcpd_routing_last_sync_failed`:                                          1,
	}
	picked := map[string]float64{}
	for series := range want {
		if v, ok := got[series]; ok {
			picked[series] = v
		}
	}
	if diff := cmp.Diff(want, picked); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	// Queue 77 belongs to another program of the namespace.
	for series := range got {
		if strings.Contains(series, `queue_num="77"`) {
			t.Errorf("another program's queue is reported: %s", series)
		}
	}
	// The runtime and process collectors are registered.
	for _, series := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := got[series]; !ok {
			t.Errorf("%s missing", series)
		}
	}
	if sum := got[`nfdhcpd_verdict_latency_seconds_sum{queue="dhcpv4"}`]; sum <= 0 || sum > 3 {
		t.Errorf("latency sum %v s for 3 packets", sum)
	}
}

func TestMetricsWithoutRoutingOrKernelTable(t *testing.T) {
	var stats responder.Stats
	handler := NewMetricsHandler(Sources{
		Report:       func() Report { return NewReport(nil, &stats) },
		Stats:        &stats,
		Queues:       func() map[uint16]uint64 { return map[uint16]uint64{42: 0} },
		KernelQueues: filepath.Join(t.TempDir(), "missing"),
	}, slog.New(slog.DiscardHandler))
	for series := range scrape(t, handler) {
		if strings.HasPrefix(series, "nfdhcpd_routing_") || strings.HasPrefix(series, "nfdhcpd_kernel_queue_") {
			t.Errorf("%s reported without its source", series)
		}
	}
}

func TestReadKernelQueues(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []kernelQueueStats
		wantErr string
	}{
		{name: "empty", text: ""},
		{name: "two queues", text: "    0   1001     0 2 65535     0     0        5  1\n   45   1002    17 2 65535     1     2  4294967295  1\n",
			want: []kernelQueueStats{{Num: 0}, {Num: 45, Waiting: 17, Dropped: 1, UserDropped: 2}}},
		{name: "short line", text: "42 1 2\n", wantErr: "3 fields, want at least 7"},
		{name: "not a number", text: "42 1 2 2 65535 x 0 1 1\n", wantErr: "field 6"},
		{name: "queue number too big", text: "70000 1 2 2 65535 0 0 1 1\n", wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nfnetlink_queue")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readKernelQueues(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("queues (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := readKernelQueues(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing table read without error")
	}
}
