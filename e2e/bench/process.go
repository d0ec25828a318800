package bench

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// A Process is a server a load driver runs in a network namespace, its
// output kept in a file for the error messages.
type Process struct {
	Cmd *exec.Cmd
	// Log is the file of the process's stdout and stderr.
	Log  string
	done chan struct{}
	err  error
}

// Start runs args in the namespace ns with env added to this process's
// environment, appending their output to logPath. `ip netns exec` execs
// in place, so the pid is the server's own, which the CPU accounting
// reads.
func Start(ns, logPath string, env []string, args ...string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &Process{Cmd: cmd, done: make(chan struct{}), Log: logPath}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended, once Exited.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Stop ends the process with SIGTERM, then SIGKILL after 3 s.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Output returns the whole log of the process.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// Tail returns the last lines of the process's log, for error messages.
func (p *Process) Tail() string {
	lines := strings.Split(strings.TrimSpace(p.Output()), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}
