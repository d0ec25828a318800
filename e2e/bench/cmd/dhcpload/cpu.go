package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, which the
// kernel fixes at 100 for everything it exports to userspace.
const userHZ = 100

// cpuSeconds returns the user plus system CPU time the process pid has
// used, all its threads included. Work the kernel does for it in softirq
// context (most of the packet path) is not charged to it.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("dhcpload: cpu time: %w", err)
	}
	return parseStatCPU(pid, string(b))
}

// parseStatCPU reads utime and stime from the text of /proc/PID/stat.
func parseStatCPU(pid int, s string) (float64, error) {
	// The command name is in parentheses and may hold spaces: fields are
	// counted from the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("dhcpload: cpu time: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name come state (field 3) ... utime (14) and stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("dhcpload: cpu time: short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("dhcpload: cpu time: malformed /proc/%d/stat", pid)
	}
	return float64(utime+stime) / userHZ, nil
}
