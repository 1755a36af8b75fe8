package server

import (
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
