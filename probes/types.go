package probes

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/probes/check"
)

// Result is a probe state; see check.Result.
type Result = check.Result

// Probe states, re-exported from probes/check so callers need one import.
const (
	Unknown = check.Unknown
	Success = check.Success
	Failure = check.Failure
)

// Execer runs exec probes inside a container; see check.Execer.
type Execer = check.Execer

// Kind is the kind of a probe.
type Kind int

const (
	// Startup gates the other two until it first succeeds (R43).
	Startup Kind = iota
	// Liveness failing its threshold means the container must be restarted (R46).
	Liveness
	// Readiness decides the container's ready flag (R47).
	Readiness
)

// String returns "Startup", "Liveness" or "Readiness", as used in event
// messages ("Liveness probe failed: ...").
func (k Kind) String() string {
	switch k {
	case Startup:
		return "Startup"
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	default:
		return "Unknown"
	}
}

// ContainerKey names one run of one container. A restarted container is a new
// instance with a new InstanceID, and its probes start afresh.
type ContainerKey struct {
	PodUID     string
	Container  string
	InstanceID string
}

// Target tells a probe where its container is.
type Target struct {
	// PodIP is the default host of httpGet, tcpSocket and grpc probes.
	PodIP string
	// HostNetwork makes the default host 127.0.0.1 instead of PodIP.
	HostNetwork bool
	// ContainerPorts resolve a probe port given by name.
	ContainerPorts []corev1.ContainerPort
	// Execer runs exec probes; it may be nil when the probe is not exec.
	Execer Execer
	// ContainerID is the runtime id exec probes run in (passed to Execer).
	ContainerID string
}

// Update reports a probe's new thresholded state.
type Update struct {
	Key  ContainerKey
	Kind Kind
	// Result is Success or Failure: the state after this probe run.
	Result Result
	// RunFailed says this run itself failed, whether or not it changed the
	// state: the caller records an Unhealthy event for each (R46).
	RunFailed bool
	// Output is the check's output of the run that produced the update (the
	// body, the command's output, or why it failed), for event messages.
	Output string
	// Warning is set when the run succeeded with a warning (an httpGet
	// redirect to another host); the caller records a ProbeWarning event.
	Warning string
	// At is when the run finished.
	At time.Time
}
