package server

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
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

	// activeGCPercent is the shim's GOGC while it works. Not lower: a
	// pod's start allocates ~1.5 MiB in its shim, under the first
	// collection's trigger at 100 (~2.8 MiB of heap) but over it at 50
	// (~1.4 MiB), and each of a Go process's first collections leaves
	// ~0.2 MiB more of the collector's own structures behind for good
	// (BenchmarkFootprint: 177 of 200 shims collected during their start
	// at 50). The trim after the start is then the shim's one collection.
	activeGCPercent = 100
	// activeMemoryLimit is the shim's GOMEMLIMIT while it works.
	activeMemoryLimit = 32 << 20
	// idleHeadroom is how much an idle shim's memory may grow before the
	// runtime collects (see memTrim.idle).
	idleHeadroom = 4 << 20
)

// memTrim hands the memory a burst of work left behind back to the OS once
// the shim is quiet. Each exec left ~0.5 MiB of garbage in the shim when
// libcontainer ran it (less through the C exec helper); the collections
// reclaim it, but the runtime keeps the free pages (up to its heap goal)
// for good, and a shim that ran exec probes held ~1.2 MiB more than an
// idle one. A trim is one collection and a scavenge: ~1 ms of CPU, after
// which the shim holds ~0.8 MiB less (issue 13).
//
// After a trim the shim idles: the runtime's proportional collection is
// off and its memory limit is what the shim holds plus idleHeadroom, so
// it collects only if it grows by that much. Otherwise the Go runtime
// collects every 2 minutes a process that has not (an idle shim's few KiB
// of State calls' garbage), at a cost of CPU and, over its first
// collections, of ~0.4 MiB of the collector's structures: 200 idle shims
// held 3.42 MiB each after 2.5 minutes, 3.26 at their start. The shim
// works again (activeGCPercent, activeMemoryLimit) once it has allocated
// trimMinAlloc since the trim, or once a stream starts.
type memTrim struct {
	quiet    time.Duration
	minAlloc uint64
	// allocated returns the bytes allocated since the process started.
	allocated func() uint64
	// trim collects and returns free memory to the OS.
	trim func()
	// idle and work switch the runtime's collection to idle and back;
	// both nil when GOGC or GOMEMLIMIT set it for good.
	idle, work func()

	mu    sync.Mutex
	timer *time.Timer
	// last is allocated() after the previous trim.
	last uint64
	// started is set by a container start: the next trim runs whatever
	// was allocated since the last.
	started bool
	// idling is set while the runtime's collection is idle.
	idling bool
}

func newMemTrim() *memTrim {
	t := &memTrim{quiet: trimQuiet, minAlloc: trimMinAlloc, allocated: totalAlloc, trim: debug.FreeOSMemory}
	if tunesGC() {
		t.idle, t.work = idleGC, activeGC
	}
	return t
}

// tunesGC reports whether the shim sets its collection itself: not when
// GOGC or GOMEMLIMIT is set.
func tunesGC() bool { return os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" }

// activeGC sets the runtime's collection for a working shim.
func activeGC() {
	debug.SetGCPercent(activeGCPercent)
	debug.SetMemoryLimit(activeMemoryLimit)
}

// idleGC turns the runtime's proportional collection off, with a memory
// limit idleHeadroom over what the shim holds.
func idleGC() {
	held := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(held)
	// The order keeps a limit in force throughout.
	debug.SetMemoryLimit(int64(held[0].Value.Uint64()-held[1].Value.Uint64()) + idleHeadroom)
	debug.SetGCPercent(-1)
}

// kick (re)starts the quiet period: the trim runs once it ends. A service
// built without one (tests of the service alone) does not trim.
func (t *memTrim) kick() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idling && t.allocated()-t.last >= t.minAlloc {
		t.work()
		t.idling = false
	}
	if t.timer == nil {
		t.timer = time.AfterFunc(t.quiet, t.run)
		return
	}
	t.timer.Reset(t.quiet)
}

// busy makes the runtime collect as in work at once, at the start of a
// stream (an exec, an attach): one can run long and copy much while the
// shim would otherwise stay idle until it ends.
func (t *memTrim) busy() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idling {
		t.work()
		t.idling = false
	}
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
// started since, and idles.
func (t *memTrim) run() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.allocated()-t.last >= t.minAlloc {
		t.started = false
		t.trim()
		t.last = t.allocated()
	}
	if t.idle != nil && !t.idling {
		t.idle()
		t.idling = true
	}
}

// totalAlloc is the bytes allocated since the process started, read
// without stopping the world (runtime.ReadMemStats does): kick reads it at
// the end of every call.
func totalAlloc() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
