// Command bootstorm measures a boot storm: every VM of a host boots at the
// same instant and asks for its whole network configuration at once, as a
// booting guest does: a DHCPv4 DISCOVER (then REQUEST), Duplicate Address
// Detection of its link-local address, a Router Solicitation once that
// DAD is over, then, on the RA, DAD of its SLAAC address and a DHCPv6
// Information-Request for DNS. It retransmits as clients do (DHCPv4 1 s
// doubling, RS every 4 s, Information-Request 1 s doubling).
//
// For each server (nfdhcpd; dnsmasq for DHCPv4 and DHCPv6 with radvd for
// the RAs, both configured for the same VMs), it reports the time until
// the last VM was configured (ACK with its address, RA with its prefix
// and the O flag, DHCPv6 Reply), the median, the VMs lost (not configured
// within -timeout, or told something that contradicts their binding, or
// whose DAD was answered) and the servers' CPU time over the storm.
//
// The guests are veth ends in one namespace, spoken for by this process
// through one packet socket: 241 guests cost one process, not 241 VMs.
// Root only; it touches nothing outside its own namespaces.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	bin := flag.String("nfdhcpd", "", "nfdhcpd `binary`")
	n := flag.Int("vms", maxVMs, "VMs booting at once (1 to 241)")
	only := flag.String("servers", "nfdhcpd,dnsmasq+radvd", "comma-separated `servers` to measure")
	dadWait := flag.Duration("dad-wait", time.Second, "how long a guest waits after a DAD probe before using the address (Linux: 1s; 0: optimistic DAD, no wait and no delay)")
	dadDelay := flag.Duration("dad-delay", time.Second, "upper bound of the random delay before each DAD probe (Linux: rtr_solicit_delay, 1s)")
	seed := flag.Uint64("seed", 1, "seed of the guests' random DAD delays (the same guests for every server)")
	timeout := flag.Duration("timeout", 60*time.Second, "a VM not configured after this is lost")
	settle := flag.Duration("settle", 3*time.Second, "wait after a server is ready before the storm (its start-up RAs go out first)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *n < 1 || *n > maxVMs {
		log.Error("bad -vms", "value", *n, "want", fmt.Sprintf("1 to %d", maxVMs))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg := stormConfig{DADWait: *dadWait, DADDelay: *dadDelay, Seed: *seed, Timeout: *timeout}
	if cfg.DADWait == 0 {
		cfg.DADDelay = 0 // optimistic DAD probes at once
	}
	var rows []row
	for _, s := range servers(*bin) {
		if !slices.Contains(strings.Split(*only, ","), s.name) {
			continue
		}
		log.Info("boot storm", "server", s.name, "vms", *n)
		r, err := measure(ctx, s, *n, cfg, *settle)
		if err != nil {
			log.Error("boot storm failed", "server", s.name, "error", err)
			os.Exit(1)
		}
		log.Info("boot storm done", "server", s.name, "configured", r.Configured, "last", r.Last, "cpu_s", r.CPU)
		rows = append(rows, r)
	}
	printTable(os.Stdout, rows, cfg)
	for _, r := range rows {
		if r.Configured != r.VMs {
			os.Exit(1)
		}
	}
}

// A row is one server's storm.
type row struct {
	server string
	stormResult
	CPU float64
}

func measure(ctx context.Context, s server, n int, cfg stormConfig, settle time.Duration) (row, error) {
	if os.Geteuid() != 0 {
		return row{}, errors.New("bootstorm: needs root (network namespaces, NFQUEUE)")
	}
	t, err := newTopology(ctx, n)
	if err != nil {
		return row{}, err
	}
	defer t.close()
	dir, err := os.MkdirTemp("", "nfdhcpd-bootstorm-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(dir)
	ps, err := s.start(ctx, t, dir)
	if err != nil {
		return row{}, err
	}
	defer func() {
		for _, p := range ps {
			p.Stop()
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); !s.ready(t, ps); time.Sleep(100 * time.Millisecond) {
		for _, p := range ps {
			if p.Exited() {
				return row{}, fmt.Errorf("bootstorm: %s exited:\n%s", s.name, p.Tail())
			}
		}
		if time.Now().After(deadline) {
			return row{}, fmt.Errorf("bootstorm: %s not ready after 30 s:\n%s", s.name, ps[0].Tail())
		}
	}
	time.Sleep(settle)

	idx, err := t.guestIndexes()
	if err != nil {
		return row{}, err
	}
	st := &storm{cfg: cfg, guests: map[int]*guest{}}
	for i, v := range t.vms {
		g := &guest{ifindex: idx[v.guestIf], mac: v.mac, xid: 0x5700000 + uint32(i), ip: v.ip, prefix: v.prefix}
		g.drawDelays(cfg, i)
		if g.ifindex == 0 {
			return row{}, fmt.Errorf("bootstorm: no interface %s among the guests", v.guestIf)
		}
		g.linkLocal = eui64(netip6LinkLocal, v.mac)
		g.global = eui64(v.prefix, v.mac)
		st.guests[g.ifindex] = g
	}
	if st.fd, err = openPacketSocket(t.guests); err != nil {
		return row{}, err
	}
	defer unix.Close(st.fd)
	cpu := func() float64 {
		total := 0.0
		for _, p := range ps {
			total += p.cpuSeconds()
		}
		return total
	}
	before := cpu()
	st.run()
	r := row{server: s.name, stormResult: st.result(), CPU: cpu() - before}
	for _, p := range ps {
		if p.Exited() {
			return r, fmt.Errorf("bootstorm: %s died during the storm:\n%s", s.name, p.Tail())
		}
	}
	return r, nil
}

func printTable(w io.Writer, rows []row, cfg stormConfig) {
	if len(rows) == 0 {
		return
	}
	guests := fmt.Sprintf("Linux guests: each DAD probe after a random delay below %s (seed %d), the address usable %s later", cfg.DADDelay, cfg.Seed, cfg.DADWait)
	if cfg.DADWait == 0 {
		guests = "guests with optimistic DAD: addresses usable at once, the servers alone"
	}
	fmt.Fprintf(w, "\nBoot storm: %d VMs boot at once (DISCOVER/REQUEST; DAD of the link-local address, then RS; on an RA, DAD of the SLAAC address and an Information-Request from the link-local one); %s; lost = not configured within %s\n\n",
		rows[0].VMs, guests, cfg.Timeout)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tVMs\tconfigured\tlost\tlast VM s\tmedian s\tlast ACK s\tlast RA s\tlast address s\tlast DHCPv6 s\tretransmissions\tserver CPU s\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%.2f\t\n", r.server, r.VMs, r.Configured, r.VMs-r.Configured,
			r.Last.Seconds(), r.P50.Seconds(), r.LastV4.Seconds(), r.LastRA.Seconds(), r.LastAddr.Seconds(), r.LastV6.Seconds(), r.Resent, r.CPU)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Wrong > 0 || r.Duplicates > 0 || r.SendErrors > 0 {
			fmt.Fprintf(w, "%s: %d VMs told something wrong (e.g. %s), %d saw their DAD answered, %d sends failed\n",
				r.server, r.Wrong, r.FirstWrong, r.Duplicates, r.SendErrors)
		}
	}
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.server] = r
	}
	ours, ok1 := byName["nfdhcpd"]
	theirs, ok2 := byName["dnsmasq+radvd"]
	if ok1 && ok2 && theirs.Last > 0 && ours.Last > 0 && theirs.CPU > 0 {
		fmt.Fprintf(w, "\nnfdhcpd/dnsmasq+radvd: last VM configured in %.2f× the time (goal < 0.5×), CPU %.2f×\n",
			ours.Last.Seconds()/theirs.Last.Seconds(), ours.CPU/theirs.CPU)
	}
	fmt.Fprintln(w, "Configured = DHCPACK with its address, SLAAC address (from an RA with its prefix and the O flag) past DAD, DHCPv6 Reply; times from the storm's start.")
}
