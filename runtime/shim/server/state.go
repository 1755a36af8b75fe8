package server

import (
	"errors"
	"fmt"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// errIllegalTransition is returned for a state change a container's current
// state does not allow.
var errIllegalTransition = errors.New("illegal container state transition")

// state is a container's lifecycle state: created → running → stopped →
// removed, or created → stopped when the start fails; a container created
// with hold goes created → held → releasing → running, and from held or
// releasing to stopped when it is killed or its release fails. Each state
// accepts only the transitions leaving it.
type state interface {
	status() shimv1.Status
	name() string
	hold(pid int) (state, error)
	release() (state, error)
	start(pid int, at time.Time) (state, error)
	stop(rec *shimdir.ExitRecord) (state, error)
	remove() (state, error)
}

func illegal(from state, to string) error {
	return fmt.Errorf("%w: %s → %s", errIllegalTransition, from.name(), to)
}

// createdState: known, its process not started yet (or starting).
type createdState struct{}

func (createdState) status() shimv1.Status { return shimv1.Status_STATUS_CREATED }
func (createdState) name() string          { return "created" }
func (createdState) start(pid int, at time.Time) (state, error) {
	return runningState{pid: pid, started: at}, nil
}
func (createdState) stop(rec *shimdir.ExitRecord) (state, error) { return stoppedState{rec: rec}, nil }
func (s createdState) remove() (state, error)                    { return nil, illegal(s, "removed") }
func (createdState) hold(pid int) (state, error)                 { return heldState{pid: pid}, nil }
func (s createdState) release() (state, error)                   { return nil, illegal(s, "releasing") }

// heldState: its init is set up and waits, before the user's program, for
// StartContainer; it reports CREATED with the init's pid.
type heldState struct{ pid int }

func (heldState) status() shimv1.Status                       { return shimv1.Status_STATUS_CREATED }
func (heldState) name() string                                { return "held" }
func (s heldState) hold(int) (state, error)                   { return nil, illegal(s, "held") }
func (s heldState) release() (state, error)                   { return releasingState(s), nil }
func (s heldState) start(int, time.Time) (state, error)       { return nil, illegal(s, "running") }
func (heldState) stop(rec *shimdir.ExitRecord) (state, error) { return stoppedState{rec: rec}, nil }
func (s heldState) remove() (state, error)                    { return nil, illegal(s, "removed") }

// releasingState: held, and one StartContainer lets it exec; a second is
// refused (it would find the fifo gone).
type releasingState struct{ pid int }

func (releasingState) status() shimv1.Status     { return shimv1.Status_STATUS_CREATED }
func (releasingState) name() string              { return "releasing" }
func (s releasingState) hold(int) (state, error) { return nil, illegal(s, "held") }
func (s releasingState) release() (state, error) { return nil, illegal(s, "releasing") }
func (releasingState) start(pid int, at time.Time) (state, error) {
	return runningState{pid: pid, started: at}, nil
}
func (releasingState) stop(rec *shimdir.ExitRecord) (state, error) {
	return stoppedState{rec: rec}, nil
}
func (s releasingState) remove() (state, error) { return nil, illegal(s, "removed") }

// runningState: its init process runs.
type runningState struct {
	pid     int
	started time.Time
}

func (s runningState) hold(int) (state, error) { return nil, illegal(s, "held") }
func (s runningState) release() (state, error) { return nil, illegal(s, "releasing") }
func (runningState) status() shimv1.Status     { return shimv1.Status_STATUS_RUNNING }
func (runningState) name() string              { return "running" }
func (s runningState) start(int, time.Time) (state, error) {
	return nil, illegal(s, "running")
}
func (runningState) stop(rec *shimdir.ExitRecord) (state, error) { return stoppedState{rec: rec}, nil }
func (s runningState) remove() (state, error)                    { return nil, illegal(s, "removed") }

// stoppedState: ended (or never started); rec is on disk.
type stoppedState struct{ rec *shimdir.ExitRecord }

func (s stoppedState) hold(int) (state, error) { return nil, illegal(s, "held") }
func (s stoppedState) release() (state, error) { return nil, illegal(s, "releasing") }
func (stoppedState) status() shimv1.Status     { return shimv1.Status_STATUS_STOPPED }
func (stoppedState) name() string              { return "stopped" }
func (s stoppedState) start(int, time.Time) (state, error) {
	return nil, illegal(s, "running")
}
func (s stoppedState) stop(*shimdir.ExitRecord) (state, error) { return nil, illegal(s, "stopped") }
func (stoppedState) remove() (state, error)                    { return removedState{}, nil }

// removedState: forgotten; nothing leaves it.
type removedState struct{}

func (s removedState) hold(int) (state, error) { return nil, illegal(s, "held") }
func (s removedState) release() (state, error) { return nil, illegal(s, "releasing") }
func (removedState) status() shimv1.Status     { return shimv1.Status_STATUS_UNKNOWN }
func (removedState) name() string              { return "removed" }
func (s removedState) start(int, time.Time) (state, error) {
	return nil, illegal(s, "running")
}
func (s removedState) stop(*shimdir.ExitRecord) (state, error) { return nil, illegal(s, "stopped") }
func (s removedState) remove() (state, error)                  { return nil, illegal(s, "removed") }
