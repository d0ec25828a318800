package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/responder"
)

// defaultRateLimit is what a file without rate_limit and rate_burst gives.
var defaultRateLimit = RateLimit{PerSecond: responder.DefaultRatePerSecond, Burst: responder.DefaultRateBurst}

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		name    string
		general string
		want    RateLimit
		wantErr string // substring of the error; empty: no error
	}{
		{name: "defaults", general: "", want: defaultRateLimit},
		{name: "set", general: "rate_limit = 5\nrate_burst = 12", want: RateLimit{PerSecond: 5, Burst: 12}},
		{name: "fractional with comment", general: "rate_limit = 0.5\t# one every two seconds", want: RateLimit{PerSecond: 0.5, Burst: responder.DefaultRateBurst}},
		{name: "off", general: "rate_limit = 0", want: RateLimit{Burst: responder.DefaultRateBurst}},
		{name: "empty values keep the defaults", general: "rate_limit =\nrate_burst =", want: defaultRateLimit},
		{name: "negative", general: "rate_limit = -1", wantErr: "[general] rate_limit"},
		{name: "not a number", general: "rate_limit = fast", wantErr: "[general] rate_limit"},
		{name: "infinite", general: "rate_limit = inf", wantErr: "[general] rate_limit"},
		{name: "NaN", general: "rate_limit = NaN", wantErr: "[general] rate_limit"},
		{name: "burst zero", general: "rate_burst = 0", wantErr: "[general] rate_burst: must be at least 1"},
		{name: "burst huge", general: "rate_burst = 99999999", wantErr: "[general] rate_burst"},
		{name: "burst fractional", general: "rate_burst = 1.5", wantErr: "[general] rate_burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte("[general]\n"+tt.general+"\n"), slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.General.RateLimit); diff != "" {
				t.Errorf("rate limit (-want +got):\n%s", diff)
			}
			wantOpts := responder.RateLimit{PerSecond: tt.want.PerSecond, Burst: tt.want.Burst}
			if diff := cmp.Diff(wantOpts, c.ResponderOptions().RateLimit); diff != "" {
				t.Errorf("responder rate limit (-want +got):\n%s", diff)
			}
		})
	}
}
