package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// tableLoad is what loading the binding directory costs the binding
// package alone, in this process: no daemon start-up, no queues.
type tableLoad struct {
	Ready     time.Duration
	HeapInuse uint64 // after a GC, with the table loaded
	// Publish are the sorted delays from a probe binding written to the
	// first snapshot holding it (Subscribe).
	Publish []time.Duration
}

// measureTableLoad runs a binding.Table over data in the hypervisor
// namespace, times it to Ready, then times samples of writing the probe
// binding until a snapshot has it. With cpuProfile set, the load and the
// samples are profiled into that file.
func measureTableLoad(ctx context.Context, t *topology, data string, samples int, cpuProfile string) (tableLoad, error) {
	var res tableLoad
	ns, err := netns.GetFromName(t.hv)
	if err != nil {
		return res, fmt.Errorf("scale: netns %s: %w", t.hv, err)
	}
	defer ns.Close()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tbl := binding.NewTable(data, slog.New(slog.NewTextHandler(io.Discard, nil)), binding.WithNetns(ns))
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()
	select {
	case <-tbl.Ready():
		res.Ready = time.Since(start)
	case err := <-done:
		return res, fmt.Errorf("scale: table ended before ready: %v", err)
	case <-time.After(time.Minute):
		return res, fmt.Errorf("scale: table not ready after a minute")
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse = ms.HeapInuse

	changes, unsubscribe := tbl.Subscribe()
	defer unsubscribe()
	has := func() bool {
		for _, a := range tbl.Snapshot().All() {
			if a.Name == probeTap {
				return true
			}
		}
		return false
	}
	for i := range samples {
		if err := writeProbe(data); err != nil {
			return res, err
		}
		written := time.Now()
		if err := waitFor(ctx, changes, has, 5*time.Second); err != nil {
			return res, fmt.Errorf("scale: table sample %d: probe binding never published: %w", i, err)
		}
		res.Publish = append(res.Publish, time.Since(written))
		if err := removeProbe(data); err != nil {
			return res, err
		}
		if err := waitFor(ctx, changes, func() bool { return !has() }, 5*time.Second); err != nil {
			return res, fmt.Errorf("scale: table sample %d: probe binding never removed: %w", i, err)
		}
	}
	slices.Sort(res.Publish)
	return res, nil
}

// waitFor waits until cond holds, checking it on every table change.
func waitFor(ctx context.Context, changes <-chan struct{}, cond func() bool, timeout time.Duration) error {
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-changes:
		case <-deadline:
			return fmt.Errorf("timed out after %s", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
