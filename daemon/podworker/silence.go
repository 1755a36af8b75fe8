package podworker

import (
	"log/slog"
	"time"

	"github.com/podd-dev/podd/daemon/planner"
)

// silentDeleteAllowance is how long past its grace period a deleted pod
// waits for a shim that does not answer before it is torn down anyway.
const silentDeleteAllowance = 10 * time.Second

// Looking again at a shim that did not answer backs off from
// silenceRetryBase up to silenceRetryMax. (Variables for tests.)
var (
	silenceRetryBase = time.Second
	silenceRetryMax  = 10 * time.Second
)

// shimSilence tracks a shim that does not answer: since when, and how many
// looks in a row failed. Only the worker's loop uses it.
type shimSilence struct {
	since time.Time
	tries int
}

// note records one more look that got no answer, logging the first and
// then every tenth.
func (s *shimSilence) note(pod, uid string, err error, now time.Time) {
	if s.tries == 0 {
		s.since = now
	}
	s.tries++
	if s.tries%10 == 1 {
		slog.Warn("The pod's shim does not answer; keeping its sandbox as last seen", "pod", pod, "uid", uid,
			"since", s.since.Format(time.RFC3339), "tries", s.tries, "err", err)
	}
}

// end records an answer after silence.
func (s *shimSilence) end(pod, uid string, now time.Time) {
	if s.tries > 0 {
		slog.Info("The pod's shim answers again", "pod", pod, "uid", uid, "silent-for", now.Sub(s.since).Round(time.Millisecond))
	}
	*s = shimSilence{}
}

// retryAfter is the pause before the next look.
func (s *shimSilence) retryAfter() time.Duration {
	d := silenceRetryBase
	for i := 1; i < s.tries && d < silenceRetryMax; i++ {
		d *= 2
	}
	return min(d, silenceRetryMax)
}

// deleteAnyway reports whether a pod being deleted has waited long enough
// for its silent shim: past its grace period and an allowance, counted from
// the delete request. The user asked for the pod to go, so its sandbox is
// torn down (its cgroup killed) without the shim's help.
func (s *shimSilence) deleteAnyway(d *planner.Deletion, grace int64, now time.Time) bool {
	if d == nil || s.tries == 0 {
		return false
	}
	return now.After(d.RequestedAt.Add(time.Duration(grace)*time.Second + silentDeleteAllowance))
}
