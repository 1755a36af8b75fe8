package podworker

import (
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

// fuzzSteps are the fake host's steps a fuzz input scripts, one byte each.
// Setup steps may fail every time; teardown steps fail a few times only (a
// teardown that never succeeds leaks by definition) and never hang (they
// run under the daemon's context: see the report of issue 7).
var fuzzSteps = []struct {
	name     string
	teardown bool
}{
	{"volumes.prepare", false}, {"network.setup", false}, {"shim.launch", false},
	{"pause.create", false}, {"image.get", false}, {"image.layers", false},
	{"rootfs.mount", false}, {"container.create", false}, {"shim.state", true},
	{"container.signal", true}, {"shim.stop", true}, {"shim.kill", true},
	{"network.teardown", true}, {"volumes.cleanup", true}, {"rootfs.unmount", true},
	{"container.remove", true},
}

// script reads one byte per step: the low two bits are the fault kind, the
// next two how many calls it hits (0: every call, for setup steps).
func scriptFromBytes(h *podworkertest.Host, in []byte) {
	for i, st := range fuzzSteps {
		if i >= len(in) {
			return
		}
		kind, times := podworkertest.FaultKind(in[i]&3), int(in[i]>>2&3)
		if kind == podworkertest.FaultNone {
			continue
		}
		if st.teardown {
			times = max(times, 1)
			if kind == podworkertest.FaultHang {
				kind = podworkertest.FaultError
			}
		}
		h.Script(st.name, kind, times)
	}
}

// hangingSteps lists the setup steps in lets hang.
func hangingSteps(in []byte) []string {
	var out []string
	for i, st := range fuzzSteps {
		if i < len(in) && !st.teardown && podworkertest.FaultKind(in[i]&3) == podworkertest.FaultHang {
			out = append(out, st.name)
		}
	}
	return out
}

// seed is an input with fault kind at step i, once.
func seed(i int, kind podworkertest.FaultKind) []byte {
	b := make([]byte, len(fuzzSteps))
	b[i] = byte(kind) | 1<<2
	return b
}

// Issue 7 item 2: whatever fails, panics or hangs at any sandbox or
// container step, no panic escapes the worker, the pod can be deleted, and
// everything the fakes made is released.
func FuzzSandboxFailures(f *testing.F) {
	f.Add([]byte{})
	for i, st := range fuzzSteps {
		f.Add(seed(i, podworkertest.FaultError))
		if !st.teardown {
			f.Add(seed(i, podworkertest.FaultPanic))
			f.Add(seed(i, podworkertest.FaultHang))
		}
	}
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 | 1<<2, 0, 1 | 1<<2}) // CNI ADD fails always; stop and DEL fail once
	f.Add([]byte{0, 0, 0, 2 | 2<<2, 0, 0, 0, 2, 2 | 1<<2})             // pause panics twice, app start and State panic
	// What is fuzzed is what is left behind, not how long retries wait: at
	// the daemon's pauses (a failed teardown step retried after 1 s, a
	// silent shim looked at again after 1, 2, 4 s) an input failing a few
	// teardown steps and the shim's State three times took 10 s, which the
	// fuzzing engine takes for a hung input.
	shortRetries(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		w, h := newTestWorker(t, testPod("fuzz"))
		w.deps.RuntimeTimeout = 50 * time.Millisecond
		scriptFromBytes(h, in)
		runWorker(t, w)
		hangs := hangingSteps(in)
		eventually(t, "the pod running, failing or hanging", 10*time.Second, func() bool {
			w.mu.Lock()
			failed := w.state.SandboxFailure != nil || len(w.state.StartFailures) > 0
			w.mu.Unlock()
			for _, st := range hangs {
				if h.Count(st) > 0 {
					return true
				}
			}
			return failed || running(w, "app")
		})
		deleteAndWait(t, w, 0)
		checkNoLeaks(t, h)
	})
}

// shortRetries makes the worker's retry pauses milliseconds until tb ends.
func shortRetries(tb testing.TB) {
	stall, base, limit := stallRetry, silenceRetryBase, silenceRetryMax
	stallRetry, silenceRetryBase, silenceRetryMax = 10*time.Millisecond, 10*time.Millisecond, 40*time.Millisecond
	tb.Cleanup(func() { stallRetry, silenceRetryBase, silenceRetryMax = stall, base, limit })
}
