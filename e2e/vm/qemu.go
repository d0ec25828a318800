package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// QEMU is the emulator the guests run in.
const QEMU = "qemu-system-x86_64"

// IPXEROM is the iPXE option ROM of QEMU's virtio NIC (Debian ipxe-qemu),
// needed only by netboot guests.
const IPXEROM = "/usr/lib/ipxe/qemu/efi-virtio.rom"

// A Config describes one guest run.
type Config struct {
	Name   string // for log lines
	Netns  string // the namespace QEMU runs (and creates its TAP) in
	Tap    string // the TAP's name
	MAC    string // the guest NIC's MAC
	IfUp   string // QEMU's script=: called with the TAP's name; "" for none
	IfDown string // QEMU's downscript=; "" for none
	// Env is the environment of QEMU and so of its scripts (a hypervisor
	// hands the hook the NIC's description this way).
	Env []string
	// Image and Params boot the guest's kernel; Params become /init's
	// environment (vm_eui64, vm_ping4, ...).
	Image  *Image
	Params map[string]string
	// Netboot boots the NIC's iPXE ROM instead (-boot n), no disk.
	Netboot bool
	// Incoming starts QEMU waiting for a live migration from this URI.
	Incoming string
	// QMP is the path of the QEMU monitor's socket; "" for none.
	QMP string
	// Log receives every console line and QEMU's own messages.
	Log func(format string, args ...any)
}

// A Guest is a running QEMU process.
type Guest struct {
	cfg     Config
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	Started time.Time

	mu    sync.Mutex
	cond  *sync.Cond
	lines []Line
	done  bool
	err   error // QEMU's exit
}

// A Line is one line of the serial console with its arrival time.
type Line struct {
	Text string
	At   time.Duration // since QEMU started
}

// Start starts QEMU as cfg describes. The guest runs until it powers off,
// Kill is called or ctx ends.
func Start(ctx context.Context, cfg Config) (*Guest, error) {
	if _, err := exec.LookPath(QEMU); err != nil {
		return nil, fmt.Errorf("vm: need %s: %w", QEMU, ErrMissing)
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-machine", "pc,graphics=off",
		"-m", "256", "-smp", "1", "-no-reboot",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
	}
	script := func(s string) string {
		if s == "" {
			return "no"
		}
		return s
	}
	netdev := fmt.Sprintf("tap,id=net0,ifname=%s,script=%s,downscript=%s", cfg.Tap, script(cfg.IfUp), script(cfg.IfDown))
	nic := "virtio-net-pci,netdev=net0,mac=" + cfg.MAC
	if cfg.Netboot {
		if _, err := os.Stat(IPXEROM); err != nil {
			return nil, fmt.Errorf("vm: need the iPXE ROM %s (ipxe-qemu): %w", IPXEROM, ErrMissing)
		}
		// The NIC's default ROM: naming the same file as romfile= makes
		// SeaBIOS leave it out of the boot order.
		args = append(args, "-boot", "n")
	} else {
		if cfg.Image == nil {
			return nil, errors.New("vm: no image and no netboot")
		}
		// No option ROM: SeaBIOS would spend time on it before the kernel.
		nic += ",romfile="
		args = append(args, "-kernel", cfg.Image.Kernel, "-initrd", cfg.Image.Initrd, "-append", cmdline(cfg.Params))
	}
	args = append(args, "-netdev", netdev, "-device", nic)
	if cfg.QMP != "" {
		args = append(args, "-qmp", "unix:"+cfg.QMP+",server=on,wait=off")
	}
	if cfg.Incoming != "" {
		args = append(args, "-incoming", cfg.Incoming)
	}
	var argv []string
	if cfg.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", cfg.Netns, QEMU}, args...)
	} else {
		argv = append([]string{QEMU}, args...)
	}
	g := &Guest{cfg: cfg}
	g.cond = sync.NewCond(&g.mu)
	g.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	g.cmd.Env = cfg.Env
	g.cmd.WaitDelay = 2 * time.Second
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	cfg.Log("%s: %s", cfg.Name, strings.Join(argv, " "))
	g.Started = time.Now()
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("vm: start %s: %w", QEMU, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); g.read(stdout, true) }()
	go func() { defer wg.Done(); g.read(stderr, false) }()
	go func() {
		wg.Wait()
		err := g.cmd.Wait()
		g.mu.Lock()
		g.done, g.err = true, err
		g.cond.Broadcast()
		g.mu.Unlock()
		cfg.Log("%s: QEMU exited after %v: %v", cfg.Name, time.Since(g.Started).Round(time.Millisecond), err)
	}()
	return g, nil
}

// cmdline renders the kernel command line: the serial console, quiet, a
// panic that ends QEMU (-no-reboot), no check of the timer interrupt (on a
// loaded host a TCG guest is too slow for it and panics: "IO-APIC + timer
// doesn't work!"), and the parameters for /init.
func cmdline(params map[string]string) string {
	parts := []string{"console=ttyS0", "quiet", "panic=-1", "no_timer_check"}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+params[k])
	}
	return strings.Join(parts, " ")
}

// ansiEscape matches the terminal control sequences SeaBIOS and iPXE
// write between the text.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])`)

// read collects lines from QEMU's stdout (the serial console) or stderr.
func (g *Guest) read(r io.Reader, console bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		// The serial console ends lines with CR LF; iPXE also draws with
		// escape sequences.
		text := ansiEscape.ReplaceAllString(strings.TrimRight(sc.Text(), "\r"), "")
		at := time.Since(g.Started)
		if console {
			g.mu.Lock()
			g.lines = append(g.lines, Line{Text: text, At: at})
			g.cond.Broadcast()
			g.mu.Unlock()
			g.cfg.Log("%s console %6.2fs: %s", g.cfg.Name, at.Seconds(), text)
		} else {
			g.cfg.Log("%s qemu: %s", g.cfg.Name, text)
		}
	}
}

// Lines returns the console lines so far.
func (g *Guest) Lines() []Line {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Line(nil), g.lines...)
}

// WaitLine waits up to timeout for a console line containing substr,
// looking at lines from index from on, and returns it with its index.
func (g *Guest) WaitLine(substr string, from int, timeout time.Duration) (Line, int, error) {
	return g.WaitAny([]string{substr}, from, timeout)
}

// WaitAny is WaitLine for the first line containing any of substrs.
func (g *Guest) WaitAny(substrs []string, from int, timeout time.Duration) (Line, int, error) {
	deadline := time.Now().Add(timeout)
	defer g.wakeAfter(timeout).Stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		for i := from; i < len(g.lines); i++ {
			for _, sub := range substrs {
				if strings.Contains(g.lines[i].Text, sub) {
					return g.lines[i], i, nil
				}
			}
		}
		if g.done {
			return Line{}, 0, fmt.Errorf("vm: %s: no console line with %q: QEMU exited: %v", g.cfg.Name, substrs, g.err)
		}
		if time.Now().After(deadline) {
			return Line{}, 0, fmt.Errorf("vm: %s: no console line with %q within %v", g.cfg.Name, substrs, timeout)
		}
		g.cond.Wait()
	}
}

// wakeAfter wakes the waiters on g.cond once timeout has passed, for them
// to see their deadline; stop the timer when done waiting.
func (g *Guest) wakeAfter(timeout time.Duration) *time.Timer {
	return time.AfterFunc(timeout, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
}

// Send writes a command line to the guest's console.
func (g *Guest) Send(line string) error {
	_, err := io.WriteString(g.stdin, line+"\n")
	return err
}

// Wait waits up to timeout for QEMU to exit and returns how it exited.
func (g *Guest) Wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	defer g.wakeAfter(timeout).Stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.done {
		if time.Now().After(deadline) {
			return fmt.Errorf("vm: %s: QEMU still running after %v", g.cfg.Name, timeout)
		}
		g.cond.Wait()
	}
	return g.err
}

// Exited reports whether QEMU has exited.
func (g *Guest) Exited() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.done
}

// Kill ends QEMU at once (SIGKILL: no downscript runs) and waits for it.
func (g *Guest) Kill() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
	_ = g.Wait(10 * time.Second)
}

// Quit asks QEMU to exit through its monitor, as a hypervisor does with a
// guest that has migrated away: the downscript runs.
func (g *Guest) Quit() error {
	_, err := g.qmp("quit", nil)
	return err
}

// Migrate live-migrates the guest to the QEMU listening on uri (started
// with Incoming) and waits up to timeout for the migration to complete.
func (g *Guest) Migrate(uri string, timeout time.Duration) error {
	if _, err := g.qmp("migrate", map[string]any{"uri": uri}); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		r, err := g.qmp("query-migrate", nil)
		if err != nil {
			return err
		}
		var st struct {
			Status string `json:"status"`
			Error  string `json:"error-desc"`
		}
		_ = json.Unmarshal(r, &st)
		switch st.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("vm: %s: migration %s: %s", g.cfg.Name, st.Status, st.Error)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vm: %s: migration not completed within %v (status %q)", g.cfg.Name, timeout, st.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// qmp runs one QMP command on a fresh monitor connection and returns its
// "return" value.
func (g *Guest) qmp(command string, args map[string]any) (json.RawMessage, error) {
	if g.cfg.QMP == "" {
		return nil, fmt.Errorf("vm: %s: no QMP socket", g.cfg.Name)
	}
	var conn net.Conn
	var err error
	// The socket appears shortly after QEMU starts.
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("unix", g.cfg.QMP); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("vm: %s: QMP: %w", g.cfg.Name, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	dec := json.NewDecoder(conn)
	enc := json.NewEncoder(conn)
	var greeting map[string]json.RawMessage
	if err := dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("vm: %s: QMP greeting: %w", g.cfg.Name, err)
	}
	call := func(cmd string, args map[string]any) (json.RawMessage, error) {
		req := map[string]any{"execute": cmd}
		if args != nil {
			req["arguments"] = args
		}
		if err := enc.Encode(req); err != nil {
			return nil, err
		}
		for {
			var resp struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Desc string `json:"desc"`
				} `json:"error"`
				Event string `json:"event"`
			}
			if err := dec.Decode(&resp); err != nil {
				if command == "quit" && errors.Is(err, io.EOF) {
					return nil, nil
				}
				return nil, err
			}
			if resp.Event != "" {
				continue
			}
			if resp.Error != nil {
				return nil, errors.New(resp.Error.Desc)
			}
			return resp.Return, nil
		}
	}
	if _, err := call("qmp_capabilities", nil); err != nil {
		return nil, fmt.Errorf("vm: %s: QMP: %w", g.cfg.Name, err)
	}
	r, err := call(command, args)
	if err != nil {
		return nil, fmt.Errorf("vm: %s: QMP %s: %w", g.cfg.Name, command, err)
	}
	return r, nil
}

// ParseResult returns the key=value fields of an NFDVM-RESULT (or any
// NFDVM-) console line.
func ParseResult(line string) map[string]string {
	fields := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	return fields
}
