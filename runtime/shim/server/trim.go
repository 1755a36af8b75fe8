package server

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

const (
	// trimQuiet is how long the shim must have been quiet (no RPC ended,
	// no container exited) before it trims: an exec probe's burst is over
	// by then, and a burst of work is not slowed by collections.
	trimQuiet = 2 * time.Second
	// trimMinAlloc is how much the shim must have allocated since the last
	// trim for a trim to be worth its collection: State, Info and Signal
	// calls allocate little; a container start or an exec hundreds of KiB.
	trimMinAlloc = 256 << 10
)

// memTrim hands the memory a burst of work left behind back to the OS once
// the shim is quiet. Each exec left ~0.5 MiB of garbage in the shim when
// libcontainer ran it (less through the C exec helper); the collections
// reclaim it, but the runtime keeps the free pages (up to its heap goal)
// for good, and a shim that ran exec probes held ~1.2 MiB more than an
// idle one. A trim is one collection and a scavenge: ~1 ms of CPU, after
// which the shim holds ~0.8 MiB less (issue 13).
type memTrim struct {
	quiet    time.Duration
	minAlloc uint64
	// allocated returns the bytes allocated since the process started.
	allocated func() uint64
	// trim collects and returns free memory to the OS.
	trim func()

	mu    sync.Mutex
	timer *time.Timer
	// last is allocated() after the previous trim.
	last uint64
	// started is set by a container start: the next trim runs whatever
	// was allocated since the last.
	started bool
}

func newMemTrim() *memTrim {
	return &memTrim{quiet: trimQuiet, minAlloc: trimMinAlloc, allocated: totalAlloc, trim: debug.FreeOSMemory}
}

// kick (re)starts the quiet period: the trim runs once it ends. A service
// built without one (tests of the service alone) does not trim.
func (t *memTrim) kick() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer == nil {
		t.timer = time.AfterFunc(t.quiet, t.run)
		return
	}
	t.timer.Reset(t.quiet)
}

// kickStarted is kick after a container start. A start leaves the spans
// of its work (the request, spec and config, pipes, log files) partly
// filled; since the create child does libcontainer's part, the shim
// allocates less than minAlloc for it, and without a trim an idle shim
// kept ~0.06 MiB more (BenchmarkFootprint at 200 pods).
func (t *memTrim) kickStarted() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.started = true
	t.mu.Unlock()
	t.kick()
}

// run trims if enough was allocated since the last trim, or a container
// started since.
func (t *memTrim) run() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started && t.allocated()-t.last < t.minAlloc {
		return
	}
	t.started = false
	t.trim()
	t.last = t.allocated()
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}
