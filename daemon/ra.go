package daemon

import (
	"context"

	"github.com/nfdhcpd/nfdhcpd/config"
)

// An raLoop is the running periodic Router Advertisement loop.
type raLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// applyRA starts or stops the periodic RAs: they run when IPv6 is on and
// ra_period is not 0.
func (d *daemon) applyRA(ctx context.Context, cfg *config.Config) {
	want := cfg.IPv6.Enable && cfg.IPv6.RAPeriod > 0
	if want == (d.ra != nil) {
		return
	}
	if !want {
		d.stopRA()
		d.log.Info("periodic router advertisements stopped")
		return
	}
	changes, unsubscribe := d.table.Subscribe()
	rctx, cancel := context.WithCancel(ctx)
	ra := &raLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ra.done)
		defer unsubscribe()
		if err := d.resp.RunPeriodicRA(rctx, changes); err != nil {
			d.log.Error("periodic router advertisements stopped", "error", err)
		}
	}()
	d.ra = ra
	d.log.Info("periodic router advertisements started", "period", cfg.IPv6.RAPeriod.String())
}

func (d *daemon) stopRA() {
	if d.ra == nil {
		return
	}
	d.ra.cancel()
	<-d.ra.done
	d.ra = nil
}
