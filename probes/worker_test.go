package probes

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

var key1 = ContainerKey{PodUID: "uid-1", Container: "web", InstanceID: "web-0"}

type want struct {
	res     Result
	warning bool
}

func TestWorker_Thresholds(t *testing.T) {
	successThreshold := func(n int32) func(*corev1.Probe) {
		return func(p *corev1.Probe) { p.SuccessThreshold = n }
	}
	tests := []struct {
		name     string
		kind     Kind
		mutate   func(*corev1.Probe)
		script   []result
		want     []want
		wantStop bool
		final    Result
	}{
		{"R47 readiness is Failure until its first success", Readiness, nil,
			[]result{f(), s()}, []want{{res: Success}}, false, Success},
		{"R45 readiness successThreshold 2 needs two successes in a row", Readiness, successThreshold(2),
			[]result{s(), f(), s(), s()}, []want{{res: Success}}, false, Success},
		{"R45 failureThreshold 3 counts across Unknown", Readiness, nil,
			[]result{s(), f(), u(), f(), u(), f()}, []want{{res: Success}, {res: Failure}}, false, Failure},
		{"R45 a success resets the failure run", Readiness, nil,
			[]result{s(), f(), f(), s(), f(), f()}, []want{{res: Success}}, false, Success},
		{"R45 unknown only changes nothing", Readiness, nil,
			[]result{u(), u(), u()}, nil, false, Failure},
		{"R47 readiness failing past its threshold reports once", Readiness, nil,
			[]result{s(), f(), f(), f(), f(), f(), s()}, []want{{res: Success}, {res: Failure}, {res: Success}}, false, Success},
		{"R46 liveness reaching failureThreshold reports Failure and holds", Liveness, nil,
			[]result{f(), f(), f()}, []want{{res: Failure}}, true, Failure},
		{"R46 liveness successes are quiet", Liveness, nil,
			[]result{s(), s(), f(), s()}, nil, false, Success},
		{"R43 startup stops after its first success", Startup, nil,
			[]result{f(), u(), s()}, []want{{res: Success}}, true, Success},
		{"R46 startup reaching failureThreshold reports Failure and holds", Startup, nil,
			[]result{f(), f(), f()}, []want{{res: Failure}}, true, Failure},
		{"R48 a redirect warning is reported even without a change", Liveness, nil,
			[]result{sw("Probe terminated redirects"), s()}, []want{{res: Success, warning: true}}, false, Success},
		{"R48 a warning below the threshold carries the current state", Readiness, successThreshold(2),
			[]result{sw("Probe terminated redirects"), s()}, []want{{res: Failure, warning: true}, {res: Success}}, false, Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fp := &fakeProber{script: tt.script}
			h.add(key1, tt.kind, h.probe("p", fp, tt.mutate))
			const period = 10 * time.Second

			h.waitCalls(fp, 1)
			for i := 2; i <= len(tt.script); i++ {
				h.clock.Advance(period)
				h.waitCalls(fp, i)
			}
			if tt.wantStop {
				h.workerDone(key1, tt.kind)
			} else {
				// The next run starting proves the last scripted one was recorded.
				h.clock.Advance(period)
				h.waitCalls(fp, len(tt.script)+1)
			}
			for i, w := range tt.want {
				got := h.next()
				if got.Key != key1 || got.Kind != tt.kind || got.Result != w.res || (got.Warning != "") != w.warning {
					t.Fatalf("update %d = %+v, want %s %v (warning %v)", i, got, tt.kind, w.res, w.warning)
				}
			}
			h.noPending()
			if got, ok := h.m.Get(key1, tt.kind); !ok || got != tt.final {
				t.Fatalf("Get = (%v, %v), want %v", got, ok, tt.final)
			}
		})
	}
}

func TestWorker_R44_InitialDelayThenEveryPeriod(t *testing.T) {
	h := newHarness(t)
	fp := &fakeProber{}
	h.add(key1, Readiness, h.probe("p", fp, func(p *corev1.Probe) {
		p.InitialDelaySeconds = 5
		p.PeriodSeconds = 3
	}))
	h.waitTimers(1)
	h.clock.Advance(4 * time.Second)
	if fp.Calls() != 0 || h.clock.Timers() != 1 {
		t.Fatalf("probe ran before initialDelaySeconds: calls=%d timers=%d", fp.Calls(), h.clock.Timers())
	}
	h.clock.Advance(time.Second)
	h.waitCalls(fp, 1) // right after the delay
	h.clock.Advance(2 * time.Second)
	if fp.Calls() != 1 {
		t.Fatalf("probe ran before periodSeconds: calls=%d", fp.Calls())
	}
	h.clock.Advance(time.Second)
	h.waitCalls(fp, 2)
}

func TestWorker_R44_Defaults(t *testing.T) {
	got := timingOf(&corev1.Probe{})
	want := timing{period: 10 * time.Second, timeout: time.Second, success: 1, failure: 3}
	if got != want {
		t.Fatalf("timingOf(zero probe) = %+v, want %+v", got, want)
	}
}

// R46: every failed run is reported (for an Unhealthy event each time), even
// when it does not change the state.
func TestWorker_R46_EveryFailedRunIsReported(t *testing.T) {
	h := newHarness(t)
	fp := &fakeProber{script: []result{{res: Failure, out: "bad"}, {res: Failure, out: "bad"}, {res: Failure, out: "bad"}}}
	h.add(key1, Readiness, h.probe("p", fp, nil))
	const period = 10 * time.Second
	h.waitCalls(fp, 1)
	for i := 2; i <= 3; i++ {
		h.clock.Advance(period)
		h.waitCalls(fp, i)
	}
	h.clock.Advance(period)
	h.waitCalls(fp, 4)
	h.noPending()
	if h.runFailures != 3 {
		t.Fatalf("%d run failures reported, want 3", h.runFailures)
	}
}

// R44's period, on the run grid: a run that began on the grid is followed
// a period later; one that began off it, a period later rounded to the
// nearest grid point, so that runs of many probes coincide.
func TestNextRunEndsThePeriodOnTheGrid(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	tests := []struct {
		began  time.Duration // after base, which is on the grid
		period time.Duration
		want   time.Duration
	}{
		{0, time.Second, time.Second},
		{30 * time.Millisecond, time.Second, 970 * time.Millisecond},
		{70 * time.Millisecond, time.Second, 1030 * time.Millisecond},
		{1234 * time.Millisecond, 10 * time.Second, 9966 * time.Millisecond},
		{30 * time.Millisecond, runGrid / 2, runGrid / 2},
	}
	for _, tt := range tests {
		if got := nextRun(base.Add(tt.began), tt.period); got != tt.want {
			t.Errorf("nextRun(base+%s, %s) = %s, want %s", tt.began, tt.period, got, tt.want)
		}
	}
}

// A run that could not probe (Unknown with an error) changes nothing and
// sends no update (R45), but is logged at info with its error; a plain
// Unknown or a failed run is not (the pod worker logs failed liveness runs).
func TestWorker_ErroredRunIsLogged(t *testing.T) {
	var buf testutil.SyncBuffer
	h := newHarness(t)
	h.m.log = slog.New(slog.NewTextHandler(&buf, nil))
	fp := &fakeProber{script: []result{{res: Unknown, err: errors.New("shim did not answer")}, u(), f()}}
	h.add(key1, Liveness, h.probe("p", fp, nil))
	h.waitCalls(fp, 1)
	for i := 2; i <= 4; i++ {
		h.clock.Advance(10 * time.Second)
		h.waitCalls(fp, i)
	}
	out := buf.String()
	if strings.Count(out, "level=INFO") != 1 || !strings.Contains(out, `msg="Probe errored"`) ||
		!strings.Contains(out, `err="shim did not answer"`) || !strings.Contains(out, "probe=Liveness") {
		t.Errorf("log of an errored, an unknown and a failed run:\n%s\nwant one info line for the errored run", out)
	}
}
