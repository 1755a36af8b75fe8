package planner

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Output is Plan's answer.
type Output struct {
	// Actions are the steps to take now, in this order: KillContainer (all of them may
	// run concurrently, each with its own grace), KillSandbox, CreateSandbox,
	// StartInitContainer (in order; stop at the first failure), StartContainer (all of
	// them together, R30), RemovePod. Empty means nothing to do until something changes
	// or NextWake. Plan is level-triggered: call it again only after the actions ran
	// (a kill may still be running: report it as Instance.KillInProgress).
	Actions []Action
	// Status is the pod's next status (R4, R10–R15, R20–R26, R55, R60–R63).
	Status corev1.PodStatus
	// History is the planner's memory; pass it back in the next Input.History.
	History History
	// Events are the events of this round's decisions (BackOff, Killing,
	// SandboxChanged, FailedCreatePodSandBox, FailedPostStartHook, DeadlineExceeded).
	// Each is emitted once per decision. Events about the actions' results (Created,
	// Started, Pulled, Failed, Unhealthy, FailedPreStopHook…) are the worker's.
	Events []Event
	// NextWake is the earliest time Plan must run again even if nothing is observed to
	// change (back-off expiry, sandbox retry, active deadline); zero for none.
	NextWake time.Time
}

// ActionKind names what an Action does.
type ActionKind string

// The action kinds, in the order Output.Actions lists them.
const (
	// ActionKillContainer stops instance ID of Container: preStop when RunPreStop, the
	// stop signal, SIGKILL after GracePeriodSeconds (R50).
	ActionKillContainer ActionKind = "KillContainer"
	// ActionKillSandbox stops the pause and tears down the netns (CNI DEL) of sandbox
	// Attempt; afterwards the worker reports SandboxNone. Only planned when no
	// container runs.
	ActionKillSandbox ActionKind = "KillSandbox"
	// ActionCreateSandbox makes sandbox number Attempt (netns, CNI ADD, pause).
	ActionCreateSandbox ActionKind = "CreateSandbox"
	// ActionStartInitContainer creates and starts init container Index as instance ID
	// (and runs its postStart for a sidecar).
	ActionStartInitContainer ActionKind = "StartInitContainer"
	// ActionStartContainer creates and starts app container Index as instance ID and
	// runs its postStart.
	ActionStartContainer ActionKind = "StartContainer"
	// ActionRemovePod tears down whatever is left of the sandbox and forgets the pod;
	// planned once deletion was requested and no container runs (R54).
	ActionRemovePod ActionKind = "RemovePod"
)

// Action reasons. Kill reasons say why an instance is stopped.
const (
	KillLivenessProbe       = "LivenessProbe"       // R46
	KillStartupProbe        = "StartupProbe"        // R46
	KillPostStartHookFailed = "PostStartHookFailed" // R51
	KillDeleting            = "Deleting"            // R54, R3
	KillDeadlineExceeded    = "DeadlineExceeded"    // R55
	KillEvicted             = "Evicted"             // over a local storage limit
	KillSidecarAfterApps    = "SidecarAfterApps"    // R15: apps done, pod finished
	KillInitFailed          = "InitFailed"          // R10: pod failed during init
	KillSandboxChanged      = "SandboxChanged"      // R32: sandbox lost

	StartFirst   = "Start"   // first start in this sandbox
	StartRestart = "Restart" // restart after an exit (R40, R31, R34), after back-off
	StartRetry   = "Retry"   // retry after a StartFailure, after back-off

	SandboxNew     = "NewPod"         // first sandbox
	SandboxChanged = "SandboxChanged" // sandbox lost: kill it, make a new one (R32)
	SandboxRetry   = "Retry"          // CreateSandbox failed before; back-off passed
	PodFinished    = "PodFinished"    // Succeeded/Failed: release the sandbox
	PodDeleted     = "Deleted"        // RemovePod
)

// Action is one step for the worker. Fields not listed for a Kind are zero.
type Action struct {
	// Kind says what to do.
	Kind ActionKind
	// Container is the container's name (Start*, KillContainer).
	Container string
	// Index is the container's index in spec.initContainers (StartInitContainer, and
	// KillContainer of an init container) or spec.containers.
	Index int
	// Init is true when Container is an init container (Start*, KillContainer).
	Init bool
	// Restart is the restart number of the instance to create (Start*); the
	// worker names the instance from it.
	Restart int32
	// ID is the instance to stop (KillContainer), as observed.
	ID string
	// Attempt is the sandbox number (CreateSandbox, KillSandbox).
	Attempt uint32
	// GracePeriodSeconds is the kill's grace (KillContainer; R50, R54, R35, R46).
	// 0 means SIGKILL at once.
	GracePeriodSeconds int64
	// RunPreStop: run the container's preStop hook first (KillContainer; false when
	// the container has none or the grace is 0).
	RunPreStop bool
	// Reason is a short CamelCase cause (see the Kill*, Start*, Sandbox* constants).
	Reason string
	// Message is the human explanation (for a kill also the Killing event's text).
	Message string
}

// String renders the action on one line for logs and tests.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(string(a.Kind))
	if a.Container != "" {
		fmt.Fprintf(&b, " %s", a.Container)
	}
	if a.ID != "" {
		fmt.Fprintf(&b, " id=%s", a.ID)
	}
	switch a.Kind {
	case ActionStartContainer, ActionStartInitContainer:
		fmt.Fprintf(&b, " restart=%d", a.Restart)
	case ActionCreateSandbox, ActionKillSandbox:
		fmt.Fprintf(&b, " attempt=%d", a.Attempt)
	case ActionKillContainer:
		fmt.Fprintf(&b, " grace=%d prestop=%t", a.GracePeriodSeconds, a.RunPreStop)
	}
	fmt.Fprintf(&b, " reason=%s", a.Reason)
	return b.String()
}

// Event is one event to record for the pod (R80, R81).
type Event struct {
	// Type is corev1.EventTypeNormal or corev1.EventTypeWarning.
	Type string
	// Reason is the event reason (BackOff, Killing…).
	Reason string
	// FieldPath names the container: "spec.containers{web}", "spec.initContainers{init}";
	// empty for the pod itself.
	FieldPath string
	// Message is the event text.
	Message string
}

// History is the planner's memory across calls. The worker stores it and passes it back
// untouched; it is JSON-serialisable.
type History struct {
	// SandboxCreated is true once a sandbox was seen Ready or Lost.
	SandboxCreated bool `json:"sandboxCreated,omitempty"`
	// SandboxAttempt is the number of the newest sandbox seen.
	SandboxAttempt uint32 `json:"sandboxAttempt,omitempty"`
	// SandboxBackoff delays CreateSandbox retries after failures.
	SandboxBackoff Backoff `json:"sandboxBackoff,omitzero"`
	// Containers holds one entry per container name.
	Containers map[string]ContainerHistory `json:"containers,omitempty"`
}

// ContainerHistory is what the planner remembers of one container.
type ContainerHistory struct {
	// RestartCount is status.restartCount: instances seen minus one (R24).
	RestartCount int32 `json:"restartCount,omitempty"`
	// InstanceID is the newest instance seen (its shim key); "" before the first start.
	InstanceID string `json:"instanceID,omitempty"`
	// ContainerID is the container ID of InstanceID (status containerID); ""
	// in a history written before container IDs existed (the worker fills it).
	ContainerID string `json:"containerID,omitempty"`
	// InstanceSandbox is the sandbox the instance ran in; an instance of an older
	// sandbox does not count as run in the current one (R32).
	InstanceSandbox uint32 `json:"instanceSandbox,omitempty"`
	// InstanceStartedAt is when the instance started (or was first seen).
	InstanceStartedAt time.Time `json:"instanceStartedAt,omitzero"`
	// ImageID is the image the newest instance ran.
	ImageID string `json:"imageID,omitempty"`
	// Exit is the termination of InstanceID once seen (nil while it runs).
	Exit *corev1.ContainerStateTerminated `json:"exit,omitempty"`
	// LastTermination is the termination of the instance before InstanceID (lastState).
	LastTermination *corev1.ContainerStateTerminated `json:"lastTermination,omitempty"`
	// KillReason is why the planner asked InstanceID to stop ("" if it did not).
	KillReason string `json:"killReason,omitempty"`
	// Backoff is the container's crash-loop back-off (R41).
	Backoff Backoff `json:"backoff,omitzero"`
	// StartFailure is the newest start failure since InstanceID started; it keeps the
	// container waiting with its reason until a start succeeds.
	StartFailure *StartFailure `json:"startFailure,omitempty"`
}

// Backoff is one exponential back-off (R41).
type Backoff struct {
	// Delay is the current wait; 0 before the first failure.
	Delay time.Duration `json:"delay,omitempty"`
	// UpdatedAt is when the failure that set Delay happened.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Until is when the current wait ends.
func (b Backoff) Until() time.Time { return b.UpdatedAt.Add(b.Delay) }
