package planner

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Defaults of Config (R41).
const (
	DefaultBackoffBase  = 10 * time.Second
	DefaultBackoffMax   = 300 * time.Second
	DefaultBackoffReset = 10 * time.Minute
)

// Config holds the daemon settings the planner uses. A zero field takes its default.
type Config struct {
	// BackoffBase is the wait before the first restart of a container (R41). Default 10s.
	BackoffBase time.Duration
	// BackoffMax caps the doubling restart wait (R41). Default 300s.
	BackoffMax time.Duration
	// BackoffReset: an exit (or failed start) that comes more than this long after the
	// container's back-off was last set starts the wait again at BackoffBase (R41).
	// Default 10m.
	BackoffReset time.Duration
}

// Input is everything Plan needs. Plan reads it and never changes it.
type Input struct {
	// Pod is the accepted pod, already defaulted and validated. Pod.Status must be the
	// Status of the previous Output (empty for a new pod): conditions keep their
	// lastTransitionTime, startTime persists, and a Succeeded/Failed phase stays (R14).
	Pod *corev1.Pod
	// Now is the current time; the planner reads no clock.
	Now time.Time
	// Config holds the back-off settings.
	Config Config
	// Sandbox is what the worker observed of the pod sandbox (netns, CNI, pause).
	Sandbox Sandbox
	// Deletion is nil, or the pending request to delete (or replace, R3) the pod.
	Deletion *Deletion
	// Eviction is nil, or why the worker found the pod over a local storage limit
	// (an emptyDir past its sizeLimit): the pod fails with reason Evicted and its
	// containers are killed at once, as the kubelet's eviction manager does. The
	// worker may stop reporting it once the status says Evicted.
	Eviction *Eviction
	// Containers holds the observations per container name, init and app containers
	// alike (names are unique in a pod). A missing name means "nothing observed".
	Containers map[string]Observed
	// History is the History of the previous Output; zero for a new pod. The worker
	// persists it beside the status so restart counts and back-off survive (R24).
	History History
}

// SandboxState says what the worker found of the pod sandbox.
type SandboxState int

const (
	// SandboxNone: no sandbox exists (new pod, after KillSandbox, after a reboot).
	SandboxNone SandboxState = iota
	// SandboxReady: netns, CNI and pause are up; Attempt and IP are set.
	SandboxReady
	// SandboxLost: the sandbox of Attempt broke (pause died, netns gone); Message says how.
	SandboxLost
	// SandboxFailed: the last CreateSandbox failed at FailedAt with Message; nothing is left.
	SandboxFailed
)

// String returns the state's name.
func (s SandboxState) String() string {
	switch s {
	case SandboxNone:
		return "None"
	case SandboxReady:
		return "Ready"
	case SandboxLost:
		return "Lost"
	case SandboxFailed:
		return "Failed"
	}
	return "Unknown"
}

// Sandbox is the observed pod sandbox.
type Sandbox struct {
	// State is the sandbox's state.
	State SandboxState
	// Attempt is the number of the sandbox (Ready, Lost), as given by the CreateSandbox
	// action that made it. A new number means a new sandbox (R32).
	Attempt uint32
	// IP is the pod IP (Ready; empty for hostNetwork if the worker has none to give).
	IP string
	// Message says why the sandbox is Lost or Failed.
	Message string
	// FailedAt is when CreateSandbox failed (Failed). Each new FailedAt counts as one
	// more failure for the sandbox back-off, so it must be set.
	FailedAt time.Time
	// Waiting says the creation failed on something outside the pod that is not
	// there yet (a PersistentVolumeClaim): it is retried after the base delay each
	// time, never doubled, as the kubelet re-syncs a pod whose volumes wait.
	Waiting bool
}

// Deletion is a request to stop the pod and forget it.
type Deletion struct {
	// RequestedAt is when the delete (or replace) was accepted; the grace period counts
	// from here (R54).
	RequestedAt time.Time
	// GracePeriodSeconds overrides spec.terminationGracePeriodSeconds when not nil;
	// 0 kills at once without preStop (R54).
	GracePeriodSeconds *int64
}

// Eviction is the worker's finding that the pod must be evicted.
type Eviction struct {
	// Message is the status message and event text, e.g. `Usage of EmptyDir
	// volume "x" exceeds the limit "1Mi".`
	Message string
}

// Observed is what the worker knows of one container right now.
type Observed struct {
	// Instance is the newest instance of the container (the one the shim knows under
	// the ID the planner gave), nil if none exists. An instance the planner knew that
	// disappears without an exit record is recorded as terminated ContainerStatusUnknown.
	Instance *Instance
	// StartFailure is the error of the worker's latest start attempt for this container
	// when that attempt made no instance (image missing, bad config, create/run error).
	// The planner counts each new At once; the worker may keep reporting it and should
	// drop it once an instance starts. A failed start must leave no shim container
	// with the attempted restart number, since the retry reuses it.
	StartFailure *StartFailure
}

// Instance is one run of a container.
type Instance struct {
	// ID is the shim's key of the instance; the planner only compares it.
	ID string
	// Restart is the restart number the instance was made with (the Restart of the
	// StartContainer action that made it). The planner trusts it, so that a lost
	// history never makes it ask for a number the shim already has.
	Restart int32
	// ContainerID is the instance's unique container ID (status containerID
	// "podd://<ContainerID>").
	ContainerID string
	// Exited is false while the process runs, true once the shim recorded its exit.
	Exited bool
	// StartedAt is when the process started.
	StartedAt time.Time
	// FinishedAt is when it exited (Exited).
	FinishedAt time.Time
	// ExitCode is the exit status (Exited); 128+N when killed by signal N (R23).
	ExitCode int32
	// Signal is the signal that killed the process, 0 if it exited by itself.
	Signal int32
	// Reason is the shim's reason for the exit: OOMKilled, ContainerCannotRun, Error,
	// or empty (then Completed for code 0, Error otherwise; R22).
	Reason string
	// Message is the shim's message for the exit (for example why it could not run).
	Message string
	// ImageID is the resolved image reference (digest) the instance runs.
	ImageID string
	// PostStartPending is true while the postStart hook is still running (R51).
	PostStartPending bool
	// PostStartError is the hook runner's message when postStart failed (R51); empty
	// otherwise. The planner then kills the instance and records FailedPostStartHook.
	PostStartError string
	// KillInProgress is true while the worker is stopping this instance (preStop,
	// signal, grace); the planner then plans no second kill for it.
	KillInProgress bool
	// Probes holds the probe results of this instance (not of an older one).
	Probes ProbeResults
}

// ProbeResults are the probe workers' conclusions (after thresholds, R45) for one
// instance. Fields of probes the container does not have are ignored.
type ProbeResults struct {
	// StartupSucceeded: the startup probe has succeeded (R43).
	StartupSucceeded bool
	// Ready: the readiness probe's current result is Success (R47).
	Ready bool
	// LivenessFailed: the liveness probe reached failureThreshold (R46).
	LivenessFailed bool
	// StartupFailed: the startup probe reached failureThreshold (R46).
	StartupFailed bool
}

// StartFailure is a start attempt that made no instance.
type StartFailure struct {
	// Reason is the waiting reason to show (R21): ErrImagePull, ErrImageNeverPull,
	// InvalidImageName, CreateContainerConfigError, CreateContainerError,
	// RunContainerError.
	Reason string `json:"reason"`
	// Message is the human text (for example `Container image "x" is not present with
	// pull policy of Never`).
	Message string `json:"message,omitempty"`
	// At is when the attempt failed.
	At time.Time `json:"at"`
}
