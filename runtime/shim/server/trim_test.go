package server

import (
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTrim is a memTrim whose allocation counter the test sets and whose
// trims are counted and signalled.
func fakeTrim(quiet time.Duration) (*memTrim, *atomic.Uint64, chan struct{}) {
	var alloc atomic.Uint64
	trimmed := make(chan struct{}, 10)
	t := &memTrim{quiet: quiet, minAlloc: 100, allocated: alloc.Load, trim: func() { trimmed <- struct{}{} }}
	return t, &alloc, trimmed
}

func TestMemTrimRunsOnceAfterABurstEnds(t *testing.T) {
	tr, alloc, trimmed := fakeTrim(50 * time.Millisecond)
	alloc.Store(1000)
	start := time.Now()
	for range 5 {
		tr.kick()
	}
	select {
	case <-trimmed:
	case <-time.After(10 * time.Second):
		t.Fatal("no trim after the burst")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("trimmed after %v, before the quiet period of 50ms ended", d)
	}
	// Nothing allocated since: the next quiet period ends without a trim.
	tr.kick()
	select {
	case <-trimmed:
		t.Fatal("trimmed again with nothing allocated since the last trim")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestMemTrimSkipsWhenLittleWasAllocated(t *testing.T) {
	tr, alloc, trimmed := fakeTrim(time.Millisecond)
	alloc.Store(99) // below minAlloc
	tr.run()
	select {
	case <-trimmed:
		t.Fatal("trimmed although less than minAlloc was allocated")
	default:
	}
	alloc.Store(250)
	tr.run()
	select {
	case <-trimmed:
	default:
		t.Fatal("no trim with more than minAlloc allocated")
	}
}

func TestMemTrimAfterAStartRunsWhateverWasAllocated(t *testing.T) {
	tr, alloc, trimmed := fakeTrim(time.Millisecond)
	alloc.Store(10) // below minAlloc
	tr.kickStarted()
	select {
	case <-trimmed:
	case <-time.After(10 * time.Second):
		t.Fatal("no trim after a start")
	}
	// The start's trim is done: the next needs minAlloc again.
	alloc.Store(20)
	tr.run()
	select {
	case <-trimmed:
		t.Fatal("trimmed again with less than minAlloc allocated since the start's trim")
	default:
	}
}

// modeTrim is fakeTrim whose idle and work calls are recorded in order.
func modeTrim(quiet time.Duration) (*memTrim, *atomic.Uint64, chan struct{}, func() []string) {
	t, alloc, trimmed := fakeTrim(quiet)
	var mu sync.Mutex
	var calls []string
	t.idle = func() { mu.Lock(); calls = append(calls, "idle"); mu.Unlock() }
	t.work = func() { mu.Lock(); calls = append(calls, "work"); mu.Unlock() }
	return t, alloc, trimmed, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
}

func TestMemTrimIdlesAfterATrimAndWorksOnceItAllocatesAgain(t *testing.T) {
	tr, alloc, trimmed, calls := modeTrim(time.Hour)
	alloc.Store(1000)
	tr.run()
	<-trimmed
	if got := calls(); !slices.Equal(got, []string{"idle"}) {
		t.Fatalf("after a trim: %v, want [idle]", got)
	}
	// A State call's few bytes leave the collection idle: the runtime
	// would otherwise collect them every 2 minutes.
	alloc.Add(99)
	tr.kick()
	if got := calls(); !slices.Equal(got, []string{"idle"}) {
		t.Fatalf("after a call that allocated less than minAlloc: %v, want [idle]", got)
	}
	alloc.Add(1)
	tr.kick()
	if got := calls(); !slices.Equal(got, []string{"idle", "work"}) {
		t.Fatalf("after minAlloc allocated since the trim: %v, want [idle work]", got)
	}
	tr.kick()
	if got := calls(); !slices.Equal(got, []string{"idle", "work"}) {
		t.Fatalf("a second kick while working: %v, want [idle work]", got)
	}
	tr.run()
	<-trimmed
	if got := calls(); !slices.Equal(got, []string{"idle", "work", "idle"}) {
		t.Fatalf("after the next trim: %v, want [idle work idle]", got)
	}
}

func TestMemTrimIdlesWhenAQuietPeriodEndsWithNothingToTrim(t *testing.T) {
	tr, alloc, trimmed, calls := modeTrim(time.Hour)
	alloc.Store(10)
	tr.run()
	select {
	case <-trimmed:
		t.Fatal("trimmed with less than minAlloc allocated")
	default:
	}
	if got := calls(); !slices.Equal(got, []string{"idle"}) {
		t.Fatalf("calls %v, want [idle]", got)
	}
	tr.run()
	if got := calls(); !slices.Equal(got, []string{"idle"}) {
		t.Fatalf("idled twice: %v", got)
	}
}

// The runtime's settings themselves: idle turns the proportional
// collection off under a limit idleHeadroom over what the process holds;
// active restores the shim's GOGC and GOMEMLIMIT.
func TestIdleAndActiveGCSetTheRuntime(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	idleGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("GOGC after idleGC: %d, want off (-1)", p)
	}
	held := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(held)
	limit := debug.SetMemoryLimit(-1)
	if want := int64(held[0].Value.Uint64()-held[1].Value.Uint64()) + idleHeadroom; limit < idleHeadroom || limit > want+idleHeadroom {
		t.Errorf("memory limit after idleGC: %d, want about %d (held + %d)", limit, want, idleHeadroom)
	}
	activeGC()
	if p := debug.SetGCPercent(activeGCPercent); p != activeGCPercent {
		t.Errorf("GOGC after activeGC: %d, want %d", p, activeGCPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != activeMemoryLimit {
		t.Errorf("memory limit after activeGC: %d, want %d", l, activeMemoryLimit)
	}
}

func TestMemTrimWorksAtOnceWhenAStreamStarts(t *testing.T) {
	tr, alloc, trimmed, calls := modeTrim(time.Hour)
	alloc.Store(1000)
	tr.run()
	<-trimmed
	// Nothing allocated yet: an exec's copy is still to come.
	tr.busy()
	if got := calls(); !slices.Equal(got, []string{"idle", "work"}) {
		t.Fatalf("after a stream started: %v, want [idle work]", got)
	}
	tr.busy()
	if got := calls(); !slices.Equal(got, []string{"idle", "work"}) {
		t.Fatalf("a second stream while working: %v, want [idle work]", got)
	}
	var none *memTrim
	none.busy() // a service built without a trim
}
