package daemon

import (
	"context"
	"time"
)

// DefaultEvictionInterval is how often the storage of every pod is
// measured against its limits (the kubelet's eviction manager checks every
// 10 s).
const DefaultEvictionInterval = 10 * time.Second

// checkStorage measures, every interval, the limited local storage of every
// pod (disk emptyDirs with a sizeLimit), one pod after the other, and has
// each worker evict its pod when over. One goroutine for all pods keeps the
// disk walks from piling up; each pod's walk is bounded by the interval.
func (d *Daemon) checkStorage(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultEvictionInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, e := range d.pods.list() {
			pctx, cancel := context.WithTimeout(ctx, interval)
			e.worker.CheckStorage(pctx)
			cancel()
		}
	}
}
