package planner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Container state reasons (R21, R22). The worker uses the same strings in
// StartFailure.Reason and the shim in Instance.Reason.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonInvalidImageName           = "InvalidImageName"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"

	ReasonCompleted              = "Completed"
	ReasonError                  = "Error"
	ReasonOOMKilled              = "OOMKilled"
	ReasonContainerCannotRun     = "ContainerCannotRun"
	ReasonDeadlineExceeded       = "DeadlineExceeded"
	ReasonContainerStatusUnknown = "ContainerStatusUnknown"
)

// Pod condition reasons and the pod status message of R55.
const (
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
	// ReasonEvicted is the pod status reason of an evicted pod (the kubelet's).
	ReasonEvicted = "Evicted"

	MessageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// Event reasons the planner emits (R81).
const (
	EventBackOff                = "BackOff"
	EventKilling                = "Killing"
	EventSandboxChanged         = "SandboxChanged"
	EventFailedCreatePodSandBox = "FailedCreatePodSandBox"
	EventFailedPostStartHook    = "FailedPostStartHook"
	EventDeadlineExceeded       = "DeadlineExceeded"
	EventEvicted                = "Evicted"
)

// ContainerIDPrefix starts every status containerID: "podd://" and 64 hex digits.
const ContainerIDPrefix = "podd://"

const (
	messageSandboxChanged = "Pod sandbox changed, it will be killed and re-created."
	messageUnknownExit    = "The container could not be located when the pod sandbox was lost or the daemon restarted"
)

// podRef names the pod in messages the kubelet's way: name_namespace(uid).
func podRef(p *corev1.Pod) string {
	if p.UID == "" {
		return p.Name + "_" + p.Namespace
	}
	return fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)
}

// crashLoopMessage is the waiting message of a container in back-off (R21).
func crashLoopMessage(v *cview, p *corev1.Pod) string {
	return fmt.Sprintf("back-off %s restarting failed container=%s pod=%s",
		v.h.Backoff.Delay, v.spec.Name, podRef(p))
}

// backOffEventMessage is the BackOff event's text (R81).
func backOffEventMessage(v *cview, p *corev1.Pod) string {
	return fmt.Sprintf("Back-off restarting failed container %s in pod %s", v.spec.Name, podRef(p))
}

// stoppingMessage is the default kill message and Killing event text (R81).
func stoppingMessage(name string) string { return "Stopping container " + name }

// probeKillMessage is the kubelet's message for a probe-triggered kill.
func probeKillMessage(v *cview, probe string, restart bool) string {
	kind := "Container"
	if v.init {
		kind = "Init container"
	}
	m := fmt.Sprintf("%s %s failed %s", kind, v.spec.Name, probe)
	if restart {
		m += ", will be restarted"
	}
	return m
}
