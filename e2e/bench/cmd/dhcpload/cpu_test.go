package main

import "testing"

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    float64
		wantErr bool
	}{
		// utime 250 and stime 130 ticks: 3.8 s.
		{"plain", "4242 (kea-dhcp4) S 1 4242 4242 0 -1 4194560 1203 0 0 0 250 130 0 0 20 0 1 0 1234 100000 500 18446744073709551615",
			3.8, false},
		{"name with spaces and parentheses", "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1",
			0.1, false},
		{"truncated", "77 (x) R 1 2 3", 0, true},
		{"no name", "77 x R", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(77, tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := got - tt.want; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("got %v s, want %v s", got, tt.want)
			}
		})
	}
}
