package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// perfdhcpReport is perfdhcp 2.2.0's report of a DORA run, as printed.
const perfdhcpReport = `Running: perfdhcp -4 -l eth0 -L 68 -R 1 -b mac=52:54:00:00:be:01 -r 1000 -p 3
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 980.559 4-way exchanges/second, expected rate: 1000

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 2994
received packets: 2951
drops: 43
drops ratio: 1.43621 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.047 ms
avg delay: 15.206 ms
max delay: 194.503 ms
std deviation: 33.314 ms
collected packets: 20
***Statistics for: REQUEST-ACK***
sent packets: 2951
received packets: 2944
drops: 7
drops ratio: 0.237 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.041 ms
avg delay: 6.241 ms
max delay: 195.145 ms
std deviation: 13.851 ms
collected packets: 0
`

// perfdhcpNoReplies is the report of a run nothing answered.
const perfdhcpNoReplies = `***Rate statistics***
Rate: 0 4-way exchanges/second, expected rate: 1000
***Statistics for: DISCOVER-OFFER***
sent packets: 2997
received packets: 0
drops: 2997
drops ratio: 100 %

min delay: inf ms
avg delay: min delay: n/a
avg delay: n/a
max delay: n/a
std deviation: n/a
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 0
received packets: 0
drops: 0
drops ratio: -nan %
`

func TestParsePerfdhcp(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want perfResult
	}{
		{"dora", perfdhcpReport, perfResult{
			Rate:     980.559,
			Discover: exchangeStats{Sent: 2994, Received: 2951, Drops: 43, AvgMS: 15.206, MaxMS: 194.503},
			Request:  exchangeStats{Sent: 2951, Received: 2944, Drops: 7, AvgMS: 6.241, MaxMS: 195.145},
		}},
		{"no replies", perfdhcpNoReplies, perfResult{
			Discover: exchangeStats{Sent: 2997, Drops: 2997},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePerfdhcp(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parsePerfdhcp (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePerfdhcpWithoutReport(t *testing.T) {
	if _, err := parsePerfdhcp("ERROR: running perfdhcp: There is no address for interface: eth0\n"); err == nil {
		t.Error("parsePerfdhcp accepted output without statistics")
	}
}

// TestAddStats checks how the clients' reports add up.
func TestAddStats(t *testing.T) {
	a := exchangeStats{Sent: 100, Received: 90, Drops: 10, AvgMS: 1, MaxMS: 5}
	b := exchangeStats{Sent: 50, Received: 30, Drops: 20, AvgMS: 3, MaxMS: 2}
	want := exchangeStats{Sent: 150, Received: 120, Drops: 30, AvgMS: 1.5, MaxMS: 5}
	if diff := cmp.Diff(want, addStats(a, b)); diff != "" {
		t.Errorf("addStats (-want +got):\n%s", diff)
	}
	if got := addStats(exchangeStats{}, exchangeStats{}); got != (exchangeStats{}) {
		t.Errorf("addStats of nothing = %+v", got)
	}
}
