package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOpsKeys(t *testing.T) {
	tests := []struct {
		conf          string
		wantSocket    string
		wantMetrics   string
		wantErrSubstr string
	}{
		{conf: "", wantSocket: "/run/nfdhcpd/control"},
		{conf: "[general]\ncontrol_socket =\n", wantSocket: ""},
		{conf: "[general]\ncontrol_socket = /tmp/x.sock\nmetrics_listen = 127.0.0.1:9167\n", wantSocket: "/tmp/x.sock", wantMetrics: "127.0.0.1:9167"},
		{conf: "[general]\nmetrics_listen = [::1]:9167 # comment\n", wantSocket: "/run/nfdhcpd/control", wantMetrics: "[::1]:9167"},
		{conf: "[general]\ncontrol_socket = run/control\n", wantErrSubstr: "[general] control_socket"},
		{conf: "[general]\nmetrics_listen = 9167\n", wantErrSubstr: "[general] metrics_listen"},
	}
	for _, tt := range tests {
		t.Run(tt.conf, func(t *testing.T) {
			c, err := Parse([]byte(tt.conf), slog.New(slog.DiscardHandler))
			if tt.wantErrSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
					t.Fatalf("Parse = %v, want an error containing %q", err, tt.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := [2]string{c.General.ControlSocket, c.General.MetricsListen}
			if diff := cmp.Diff([2]string{tt.wantSocket, tt.wantMetrics}, got); diff != "" {
				t.Errorf("control_socket, metrics_listen (-want +got):\n%s", diff)
			}
		})
	}
}
