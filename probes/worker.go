package probes

import (
	"context"
	"log/slog"
	"time"
)

// runGrid is the grid every probe's next run is put on: the runs due
// within about the same runGrid wake the daemon once, not once each (with
// 100 pods probed by httpGet every second, waking for each run cost the
// daemon about a fifth of its CPU: the Go scheduler and sysmon). A run
// moves by at most half of it, and only the first period after a start is
// shortened or lengthened by that much: the later ones start a period
// apart, on the grid.
const runGrid = 100 * time.Millisecond

// nextRun is how long after began (when a run started) the next one starts:
// the period, ending on the run grid.
func nextRun(began time.Time, period time.Duration) time.Duration {
	if period < runGrid {
		return period
	}
	return began.Add(period).Round(runGrid).Sub(began)
}

// worker probes one container instance with one probe. Its goroutine ends
// when its context is cancelled, when a startup probe succeeds, or when a
// startup or liveness probe reaches its failure threshold (the kubelet's
// "on hold": the container is about to be restarted as a new instance).
type worker struct {
	m      *Manager
	key    ContainerKey
	kind   Kind
	timing timing
	prober prober
	// gate, when not nil, is closed once the instance's startup probe has
	// succeeded; liveness and readiness wait for it.
	gate <-chan struct{}

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	// Guarded by m.mu.
	state Result
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	if w.timing.initialDelay > 0 && !w.wait(ctx, w.timing.initialDelay) {
		return
	}
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-ctx.Done():
			return
		}
	}
	var s streak
	for {
		// The period counts from the start of a run, as a ticker would, and
		// ends on the run grid (see nextRun).
		began := w.m.clock.Now()
		next := w.m.clock.NewTimer(nextRun(began, w.timing.period))
		res, out, warning, err := w.prober.probe(ctx, w.timing.timeout)
		if ctx.Err() != nil {
			next.Stop()
			return
		}
		w.m.recordRun(w.kind, res, w.m.clock.Now().Sub(began))
		w.log(ctx, res, out, err)
		if w.record(&s, res, out, warning) {
			next.Stop()
			return
		}
		select {
		case <-next.C():
		case <-ctx.Done():
			next.Stop()
			return
		}
	}
}

// record applies one result and reports whether the worker is finished.
func (w *worker) record(s *streak, res Result, out, warning string) (finished bool) {
	reached := s.observe(res, w.timing)
	w.m.report(w, res, reached, out, warning)
	if !reached {
		return false
	}
	switch {
	case w.kind == Startup && res == Success:
		w.m.openGate(w.key)
		return true
	case w.kind != Readiness && res == Failure:
		return true
	}
	return false
}

// wait sleeps d on the manager's clock; false means ctx was cancelled.
func (w *worker) wait(ctx context.Context, d time.Duration) bool {
	t := w.m.clock.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

func (w *worker) log(ctx context.Context, res Result, out string, err error) {
	if err != nil {
		// The probe could not run (the exec did not start, the shim did
		// not answer): Unknown, which changes nothing (R45), so no update
		// and no event says so; this line does.
		w.m.log.Info("Probe errored", "uid", w.key.PodUID, "container", w.key.Container,
			"instance", w.key.InstanceID, "probe", w.kind.String(), "err", err)
		return
	}
	if !w.m.log.Enabled(ctx, slog.LevelDebug) {
		return // the arguments would cost allocations on every run
	}
	w.m.log.Debug("Probe ran", "uid", w.key.PodUID, "container", w.key.Container,
		"instance", w.key.InstanceID, "probe", w.kind.String(), "result", res.String(),
		"output", out, "err", err)
}
