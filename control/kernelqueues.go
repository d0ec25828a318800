package control

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcNFQueue is the kernel's table of the NFQUEUE queues bound in
// the reader's network namespace.
const ProcNFQueue = "/proc/net/netfilter/nfnetlink_queue"

// A kernelQueueStats is one line of the kernel's NFQUEUE table.
type kernelQueueStats struct {
	Num uint16
	// Waiting is how many packets wait for a verdict.
	Waiting uint64
	// Dropped counts packets dropped because the queue was full,
	// UserDropped those the netlink socket could not take. A fail-open
	// queue accepts both kinds instead, and counts neither.
	Dropped, UserDropped uint64
}

// readKernelQueues parses the NFQUEUE table at path. Each line holds the
// queue number, the peer's port id, the packets waiting, the copy mode,
// the copy range, the queue drops, the user drops, the last packet id and
// a constant 1.
func readKernelQueues(path string) ([]kernelQueueStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	var stats []kernelQueueStats
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 7 {
			return nil, fmt.Errorf("metrics: %s:%d: %d fields, want at least 7", path, line, len(fields))
		}
		var nums [7]uint64
		for i := range nums {
			if nums[i], err = strconv.ParseUint(fields[i], 10, 64); err != nil {
				return nil, fmt.Errorf("metrics: %s:%d: field %d: %w", path, line, i+1, err)
			}
		}
		if nums[0] > 0xffff {
			return nil, fmt.Errorf("metrics: %s:%d: queue number %d out of range", path, line, nums[0])
		}
		stats = append(stats, kernelQueueStats{Num: uint16(nums[0]), Waiting: nums[2], Dropped: nums[5], UserDropped: nums[6]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %s: %w", path, err)
	}
	return stats, nil
}
