package routing

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultBIRDSockets are the control sockets BIRD 2 listens on in Debian's
// package (/run/bird/bird.ctl) and in builds that keep the older
// /var/run path, in the order they are probed.
var DefaultBIRDSockets = []string{"/run/bird/bird.ctl", "/var/run/bird/bird.ctl"}

// ProbeBIRD returns the first of paths where a BIRD control socket answers
// with its greeting ("0001 BIRD 2.0.12 ready."), so that a stale socket
// file left by a stopped BIRD does not count. The error says why each
// path failed.
func ProbeBIRD(paths []string, timeout time.Duration) (string, error) {
	var errs []error
	for _, p := range paths {
		err := greet(p, timeout)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	if len(errs) == 0 {
		return "", errors.New("routing: no BIRD control socket to probe")
	}
	return "", fmt.Errorf("routing: no BIRD control socket answers: %w", errors.Join(errs...))
}

func greet(path string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no greeting: %w", err)
	}
	if !strings.HasPrefix(line, "0001 ") {
		return fmt.Errorf("not a BIRD greeting: %q", strings.TrimSpace(line))
	}
	return nil
}
