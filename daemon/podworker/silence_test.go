package podworker

import (
	"errors"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/planner"
)

// Looking again at a silent shim backs off, doubling up to a cap, and
// starts over once it answers.
func TestSilenceBacksOff(t *testing.T) {
	var s shimSilence
	now := time.Unix(1000, 0)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		s.note("ns/p", "u", errors.New("deadline exceeded"), now)
		if got := s.retryAfter(); got != w {
			t.Errorf("after %d silent looks: retry in %s, want %s", i+1, got, w)
		}
	}
	s.end("ns/p", "u", now)
	if s.tries != 0 || s.retryAfter() != time.Second {
		t.Errorf("after an answer: %+v, retry in %s", s, s.retryAfter())
	}
}

// A silent shim keeps its sandbox, except for a pod being deleted once its
// grace period and an allowance have passed: the user asked for it to go.
func TestSilenceDeleteAnyway(t *testing.T) {
	t0 := time.Unix(1000, 0)
	silent := shimSilence{since: t0, tries: 1}
	del := &planner.Deletion{RequestedAt: t0}
	for _, tc := range []struct {
		name string
		s    shimSilence
		d    *planner.Deletion
		now  time.Time
		want bool
	}{
		{"not deleted: never", silent, nil, t0.Add(time.Hour), false},
		{"deleted, within grace", silent, del, t0.Add(20 * time.Second), false},
		{"deleted, within grace + allowance", silent, del, t0.Add(35 * time.Second), false},
		{"deleted, past grace + allowance", silent, del, t0.Add(41 * time.Second), true},
		{"deleted, shim answering", shimSilence{}, del, t0.Add(time.Hour), false},
	} {
		if got := tc.s.deleteAnyway(tc.d, 30, tc.now); got != tc.want {
			t.Errorf("%s: deleteAnyway = %v, want %v", tc.name, got, tc.want)
		}
	}
}
