package limiter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitStats polls until the limiter reaches want, or fails the test.
func waitStats(t *testing.T, l *Limiter, want Stats) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats() != want {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want %+v", l.Stats(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// No more than the limiter's size hold a slot at once, and every caller
// gets one eventually.
func TestNeverMoreThanSize(t *testing.T) {
	l := New(3)
	var now, peak, done atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(context.Background(), Start)
			if err != nil {
				t.Error(err)
				return
			}
			n := now.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			now.Add(-1)
			done.Add(1)
			release()
		}()
	}
	wg.Wait()
	if peak.Load() > 3 || done.Load() != 50 {
		t.Errorf("peak %d (limit 3), done %d of 50", peak.Load(), done.Load())
	}
	if s := l.Stats(); s != (Stats{}) {
		t.Errorf("after all released: %+v", s)
	}
}

// acquireInOrder starts one waiter per priority in turn, each queued before
// the next starts, and records the order they are admitted in.
func acquireInOrder(t *testing.T, l *Limiter, prios []Priority) (order func() []int, wg *sync.WaitGroup) {
	var mu sync.Mutex
	var got []int
	wg = &sync.WaitGroup{}
	for i, p := range prios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(context.Background(), p)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
			release()
		}()
		waitStats(t, l, Stats{Running: 1, Waiting: i + 1})
	}
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), got...)
	}, wg
}

// Waiters of one priority are admitted in arrival order.
func TestFIFOWithinPriority(t *testing.T) {
	l := New(1)
	hold, _ := l.Acquire(context.Background(), Start)
	order, wg := acquireInOrder(t, l, []Priority{Start, Start, Start, Start, Start})
	hold()
	wg.Wait()
	if got := order(); len(got) != 5 || got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 3 || got[4] != 4 {
		t.Errorf("admitted in order %v, want 0 1 2 3 4", got)
	}
}

// The daemon's own work (Maintain) goes before new starts that queued
// earlier; each priority stays FIFO.
func TestMaintainBeforeStart(t *testing.T) {
	l := New(1)
	hold, _ := l.Acquire(context.Background(), Start)
	order, wg := acquireInOrder(t, l, []Priority{Start, Start, Maintain, Start, Maintain})
	hold()
	wg.Wait()
	want := []int{2, 4, 0, 1, 3}
	got := order()
	for i := range want {
		if len(got) != len(want) || got[i] != want[i] {
			t.Fatalf("admitted in order %v, want %v", got, want)
		}
	}
}

// Starting the containers of a sandbox that exists (Continue) goes before
// creating new sandboxes: in a burst of 200 pods, FIFO let every queued
// sandbox creation go before the first container start, so almost no pod
// ran until nearly all sandboxes existed. Maintain still goes first.
func TestContinueBeforeStartAfterMaintain(t *testing.T) {
	l := New(1)
	hold, _ := l.Acquire(context.Background(), Start)
	order, wg := acquireInOrder(t, l, []Priority{Start, Continue, Start, Maintain, Continue})
	hold()
	wg.Wait()
	want := []int{3, 1, 4, 0, 2}
	got := order()
	for i := range want {
		if len(got) != len(want) || got[i] != want[i] {
			t.Fatalf("admitted in order %v, want %v", got, want)
		}
	}
}

// A waiter whose context ends leaves the queue holding nothing, and the
// slot goes to the next waiter.
func TestCancelledWaiterHoldsNothing(t *testing.T) {
	l := New(1)
	hold, _ := l.Acquire(context.Background(), Start)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, Start)
		errc <- err
	}()
	waitStats(t, l, Stats{Running: 1, Waiting: 1})
	admitted := make(chan func(), 1)
	go func() {
		r, _ := l.Acquire(context.Background(), Start)
		admitted <- r
	}()
	waitStats(t, l, Stats{Running: 1, Waiting: 2})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire returned %v", err)
	}
	waitStats(t, l, Stats{Running: 1, Waiting: 1})
	hold()
	select {
	case r := <-admitted:
		r()
	case <-time.After(5 * time.Second):
		t.Fatal("the next waiter was not admitted after a cancel and a release")
	}
	waitStats(t, l, Stats{})
}

// Giving a slot back twice frees it once.
func TestReleaseTwiceFreesOnce(t *testing.T) {
	l := New(2)
	r1, _ := l.Acquire(context.Background(), Start)
	r2, _ := l.Acquire(context.Background(), Start)
	r1()
	r1()
	if s := l.Stats(); s.Running != 1 {
		t.Fatalf("after a double release: %+v", s)
	}
	r2()
}

// A nil limiter admits everything (unit tests and tools without a budget).
func TestNilLimiterAdmitsAll(t *testing.T) {
	var l *Limiter
	r, err := l.Acquire(context.Background(), Start)
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// TryAcquire takes a free slot and never waits: with none free it holds
// nothing and leaves the queue as it was; a slot released to a waiter is
// not free.
func TestTryAcquireTakesOnlyAFreeSlot(t *testing.T) {
	l := New(1)
	r, ok := l.TryAcquire()
	if !ok {
		t.Fatal("TryAcquire on an idle limiter took nothing")
	}
	if _, ok := l.TryAcquire(); ok {
		t.Fatal("TryAcquire took a second slot of a limiter of one")
	}
	admitted := make(chan func(), 1)
	go func() {
		r, _ := l.Acquire(context.Background(), Start)
		admitted <- r
	}()
	waitStats(t, l, Stats{Running: 1, Waiting: 1})
	r()
	r2 := <-admitted
	if _, ok := l.TryAcquire(); ok {
		t.Fatal("TryAcquire took the slot handed to a waiter")
	}
	if s := l.Stats(); s != (Stats{Running: 1}) {
		t.Fatalf("after a refused TryAcquire: %+v", s)
	}
	r2()
	waitStats(t, l, Stats{})
	var nl *Limiter
	if r, ok := nl.TryAcquire(); !ok {
		t.Fatal("a nil limiter refused TryAcquire")
	} else {
		r()
	}
}
