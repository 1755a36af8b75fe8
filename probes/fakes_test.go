package probes

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// fakeClock is a manual Clock: time moves only on Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *fakeClock
	at    time.Time
	c     chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves time forward by d and fires every timer that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// Timers returns how many timers are pending.
func (c *fakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// result is one scripted probe outcome.
type result struct {
	res     Result
	out     string
	warning string
	err     error
}

// fakeProber returns its script one result per run (Unknown once the script
// is used up), counts runs, and with hang blocks until ctx is cancelled.
type fakeProber struct {
	mu     sync.Mutex
	script []result
	calls  int
	hang   bool
	ran    chan struct{} // signalled after each run starts; made by calls()
}

func (p *fakeProber) probe(ctx context.Context, _ time.Duration) (Result, string, string, error) {
	p.mu.Lock()
	hang := p.hang
	var r result
	if p.calls < len(p.script) {
		r = p.script[p.calls]
	}
	p.calls++
	ran := p.ranChan()
	p.mu.Unlock()
	select {
	case ran <- struct{}{}:
	default:
	}
	if hang {
		<-ctx.Done()
		return Unknown, "", "", ctx.Err()
	}
	return r.res, r.out, r.warning, r.err
}

// ranChan returns the run signal channel; p.mu must be held.
func (p *fakeProber) ranChan() chan struct{} {
	if p.ran == nil {
		p.ran = make(chan struct{}, 1)
	}
	return p.ran
}

func (p *fakeProber) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// harness is a Manager on a fake clock whose probers are fakeProbers, chosen
// by the probe's first exec argument.
type harness struct {
	t        *testing.T
	m        *Manager
	clock    *fakeClock
	probers  map[string]*fakeProber
	received int
	// runFailures counts the run-failure updates next skipped.
	runFailures int
	// last is the last state update seen per worker.
	last map[stateKey]Result
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), probers: map[string]*fakeProber{}}
	h.m = NewManager(Config{Clock: h.clock})
	h.m.newProber = func(p *corev1.Probe, _ Target) (prober, error) {
		return h.probers[p.Exec.Command[0]], nil
	}
	t.Cleanup(h.m.Close)
	return h
}

// probe returns a probe spec bound to a new fake prober named name.
func (h *harness) probe(name string, fp *fakeProber, mutate func(*corev1.Probe)) *corev1.Probe {
	h.probers[name] = fp
	p := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{name}}},
		PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func (h *harness) add(key ContainerKey, k Kind, p *corev1.Probe) {
	h.t.Helper()
	if err := h.m.Add(key, k, p, Target{PodIP: "10.88.0.2"}); err != nil {
		h.t.Fatalf("Add(%v, %s): %v", key, k, err)
	}
}

// waitCalls waits until fp has run n times.
func (h *harness) waitCalls(fp *fakeProber, n int) {
	h.t.Helper()
	fp.mu.Lock()
	ran := fp.ranChan()
	fp.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for fp.Calls() < n {
		select {
		case <-ran:
		case <-deadline:
			h.t.Fatalf("prober ran %d times within 5s, want %d", fp.Calls(), n)
		}
	}
	if got := fp.Calls(); got != n {
		h.t.Fatalf("prober ran %d times, want %d", got, n)
	}
}

// waitTimers waits until n timers are pending on the fake clock.
func (h *harness) waitTimers(n int) {
	h.t.Helper()
	testutil.WaitFor(h.t, 5*time.Second, "pending timers", func() (bool, error) { return h.clock.Timers() >= n, nil })
}

// next returns the next update that changes or re-asserts a state, failing
// after a deadline. Updates that only report a failed run (for Unhealthy
// events) are counted in h.runFailures and skipped.
func (h *harness) next() Update {
	h.t.Helper()
	for {
		select {
		case u := <-h.m.Updates():
			h.received++
			if h.runFailureOnly(u) {
				continue
			}
			h.setLast(u)
			return u
		case <-time.After(5 * time.Second):
			h.t.Fatal("no update within 5s")
			return Update{}
		}
	}
}

type stateKey struct {
	key  ContainerKey
	kind Kind
}

// runFailureOnly reports whether u only says "this run failed": the state
// did not change and nothing else (threshold reached, warning) is news.
func (h *harness) runFailureOnly(u Update) bool {
	if !u.RunFailed || u.Warning != "" {
		return false
	}
	h.runFailures++
	last, ok := h.last[stateKey{u.Key, u.Kind}]
	if !ok {
		last = initialState(u.Kind)
	}
	reachedHold := u.Kind != Readiness && u.Result == Failure
	return last == u.Result && !reachedHold
}

func (h *harness) setLast(u Update) {
	if h.last == nil {
		h.last = map[stateKey]Result{}
	}
	h.last[stateKey{u.Key, u.Kind}] = u.Result
}

func initialState(k Kind) Result {
	switch k {
	case Liveness:
		return Success
	case Readiness:
		return Failure
	}
	return Unknown
}

// noPending fails if a state update is queued. Call it once the worker is
// known to have finished processing (it began its next run, or it stopped).
func (h *harness) noPending() {
	h.t.Helper()
	for h.m.q.total() > h.received {
		u := <-h.m.Updates()
		h.received++
		if !h.runFailureOnly(u) {
			h.t.Fatalf("unexpected update queued: %+v", u)
		}
	}
}

// workerDone waits for the worker of (key, k) to end by itself.
func (h *harness) workerDone(key ContainerKey, k Kind) {
	h.t.Helper()
	h.m.mu.Lock()
	w := h.m.workers[workerID{key, k}]
	h.m.mu.Unlock()
	if w == nil {
		h.t.Fatalf("no worker for %v %s", key, k)
	}
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		h.t.Fatalf("worker %v %s still running", key, k)
	}
}

func s() result          { return result{res: Success, out: "ok"} }
func f() result          { return result{res: Failure, out: "bad"} }
func u() result          { return result{res: Unknown} }
func sw(w string) result { return result{res: Success, out: "redirect", warning: w} }
